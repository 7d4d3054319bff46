from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaigns (营销活动): member statistics, segments, campaigns measured against a control
    group, the chain-wide holdout, and what each campaign earned."""

    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        # Statistics at night (after expiry at 00:10 and coupon expiry at 00:20, so points
        # expiring and unused coupons are as of the new day); daily campaigns in the morning,
        # from the fresh statistics.
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "campaigns-refresh-stats",
            {"task": "campaigns.refresh_member_stats", "schedule": crontab(hour=2, minute=30)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "campaigns-run-daily",
            {"task": "campaigns.run_daily_campaigns", "schedule": crontab(hour=7, minute=30)},
        )
