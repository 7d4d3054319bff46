from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountCardsConfig(AppConfig):
    """Count cards (次卡): packages of visits a member buys, uses and renews."""

    name = "countcards"
    verbose_name = _("Count cards")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "countcards.expire_count_cards",
            {"task": "members.expire_count_cards", "schedule": crontab(hour=2, minute=30)},
        )
