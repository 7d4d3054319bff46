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

        # Holiday bonuses go to the holiday's shoppers once the day is over, catching up any
        # night missed (task and entry keep their old names: django-celery-beat updates the
        # saved entry from this one when beat starts).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-holiday-bonuses",
            {"task": "loyalty.grant_holiday_bonuses", "schedule": crontab(hour=0, minute=30)},
        )
