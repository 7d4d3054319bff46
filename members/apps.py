from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        # Stored-value and count-card admin and tasks live in their own modules (the members
        # admin package and tasks.py belong to the member-card area); load them here so they
        # are registered whichever way the app is started.
        from . import admin_wallet, tasks_wallet  # noqa: F401

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "members.expire_count_cards",
            {"task": "members.expire_count_cards", "schedule": crontab(hour=2, minute=30)},
        )
