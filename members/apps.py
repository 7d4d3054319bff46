from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        # Stored-value and count-card admin lives in its own module; register it with the
        # site whether or not members.admin imports it.
        from . import admin_wallet  # noqa: F401
