from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Points and tiers")

    def ready(self):
        from celery.schedules import crontab

        # Nightly expiry just after midnight (as of the new day), birthdays in the morning,
        # holiday bonuses the night after, tier review on the 1st of each month.
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-expire-points",
            {"task": "loyalty.expire_points", "schedule": crontab(hour=0, minute=10)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-birthday-bonuses",
            {"task": "loyalty.grant_birthday_bonuses", "schedule": crontab(hour=7, minute=0)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-holiday-bonuses",
            {"task": "loyalty.grant_holiday_bonuses", "schedule": crontab(hour=23, minute=50)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-review-tiers",
            {"task": "loyalty.review_tiers", "schedule": crontab(day_of_month=1, hour=2)},
        )
