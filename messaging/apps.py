from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """Messaging (会员触达): SMS (Aliyun, Tencent Cloud), WeChat, the member's inbox and the
    console backend; consent, quiet hours, the weekly cap, the message log and receipts."""

    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        # Every minute: what is due (held by quiet hours, retries, new queues), and the notices
        # read from the ledgers (stored-value changes, tier upgrades). Each morning at 09:00:
        # points expiring in N days (after expiry at 00:10 and the statistics at 02:30).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "messaging-send-due",
            {"task": "messaging.send_due_messages", "schedule": crontab(minute="*")},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "messaging-ledger-notices",
            {"task": "messaging.queue_ledger_notices", "schedule": crontab(minute="*")},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "messaging-points-expiring",
            {"task": "messaging.notify_points_expiring", "schedule": crontab(hour=9, minute=0)},
        )
