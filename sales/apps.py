from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    """Checkout and refunds: sales with their lines, which orchestrate points, stored value and
    coupons in one transaction, and the till's view of a member."""

    name = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        # Holiday bonuses go to the holiday's shoppers (the task keeps its old name, so
        # schedules saved by django-celery-beat still find it).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-holiday-bonuses",
            {"task": "loyalty.grant_holiday_bonuses", "schedule": crontab(hour=23, minute=50)},
        )
