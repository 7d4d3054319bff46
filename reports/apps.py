from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Head office's view of the chain: the dashboard, daily aggregates, reports and the
    settlement between stores. Reads every app below it; writes only its own tables."""

    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from celery.schedules import crontab

        # After the nightly expiry (00:10), so yesterday's figures include what expired; the
        # settlement draft of the month follows the aggregates.
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "reports-refresh-daily-stats",
            {"task": "reports.refresh_daily_stats", "schedule": crontab(hour=0, minute=40)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "reports-compute-settlement",
            {"task": "reports.compute_settlement", "schedule": crontab(hour=1, minute=10)},
        )
