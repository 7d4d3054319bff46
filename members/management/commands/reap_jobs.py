from django.core.management.base import BaseCommand, CommandError

from members.queueing import reap_jobs

KINDS = {"importjob": "member imports", "bulkjob": "bulk jobs"}


class Command(BaseCommand):
    """Queue again every background job that is stuck: member imports and bulk jobs (bulk
    member actions, coupon issuing, points from an Excel file) that a killed worker left
    running, that could not be queued because the broker was away (排队失败), or whose message
    was lost. What Celery beat does every minute (members.tasks.reap_import_jobs); run it by
    hand or from cron where there is no beat. Without a broker (the embedded default) the jobs
    run right here. Exits 1 if the broker still refused some."""

    help = "Queue again the import and bulk jobs that are stuck."

    def handle(self, *args, **options):
        report = reap_jobs()
        refused = []
        for kind, outcome in report.items():
            name = KINDS.get(kind, kind)
            queued = ", ".join(f"#{i}" for i in outcome["queued"]) or "none"
            self.stdout.write(f"{name}: queued again {queued}")
            refused += [f"{name} #{i}" for i in outcome["unqueued"]]
        if refused:
            raise CommandError(
                "the broker is unreachable; still not queued: " + ", ".join(refused)
            )
