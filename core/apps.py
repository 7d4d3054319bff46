from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app shares: SQL helpers, the ledger-entry base, actor and source, domain
    errors, hooks. It has no tables of its own; its migrations hold the database guards that
    span the ledgers (append-only triggers)."""

    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import history  # noqa: F401  (connects the history source receiver)
