from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from celery.schedules import crontab

        from . import bulk  # noqa: F401  (registers the members' own bulk operations)

        # Import and bulk jobs that are stuck are queued again by this reaper: every minute,
        # so a job silent for IMPORT_JOB_STALE_SECONDS (120) resumes within about 3 minutes.
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "members-reap-jobs",
            {"task": "members.tasks.reap_import_jobs", "schedule": crontab(minute="*")},
        )
