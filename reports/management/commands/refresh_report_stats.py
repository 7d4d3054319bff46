"""Recompute the daily figures of the dashboard and reports (and the snapshots).

manage.py refresh_report_stats               # yesterday and today
manage.py refresh_report_stats --days 90     # the last 90 days and today (a backfill)
manage.py refresh_report_stats --from 2026-01-01 --to 2026-03-31
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.models import Source
from reports import services


class Command(BaseCommand):
    help = "Recompute the daily aggregate figures (dashboard, reports) and the snapshots."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Days back from today.")
        parser.add_argument("--from", dest="first", default=None, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last", default=None, help="Last day, YYYY-MM-DD.")

    def handle(self, *args, days=None, first=None, last=None, **options):
        try:
            first_day = date.fromisoformat(first) if first else None
            last_day = date.fromisoformat(last) if last else None
        except ValueError as exc:
            raise CommandError(f"Dates are YYYY-MM-DD: {exc}") from None
        if days is not None:
            if days < 0:
                raise CommandError("--days cannot be negative.")
            first_day = timezone.localdate() - timedelta(days=days)
        if first_day and last_day and first_day > last_day:
            raise CommandError("--from is after --to.")
        rows = services.refresh_daily_stats(
            first_day=first_day, last_day=last_day, source=Source.COMMAND
        )
        snapshots = services.refresh_snapshots(source=Source.COMMAND)
        self.stdout.write(f"{rows} daily rows, {snapshots} snapshots refreshed.")
