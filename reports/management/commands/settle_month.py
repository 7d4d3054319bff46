"""Settlement between stores from the command line.

manage.py settle_month                      # recompute the drafts of the open months
manage.py settle_month --close 2026-03      # close a finished month (its lines freeze)
"""

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.models import Source
from reports import services, settlement


class Command(BaseCommand):
    help = "Recompute the open settlement months, or close a finished one."

    def add_arguments(self, parser):
        parser.add_argument("--close", default=None, help="The month to close, YYYY-MM.")

    def handle(self, *args, close=None, **options):
        if close:
            month = settlement.month_start_of(close)
            if month is None:
                raise CommandError("--close takes a month as YYYY-MM.")
            try:
                period = services.close_settlement_period(
                    month=month, actor=None, source=Source.COMMAND
                )
            except DomainError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"{period.month:%Y-%m} closed: {period.lines.count()} lines.")
            return
        for period in services.refresh_open_settlements(source=Source.COMMAND):
            self.stdout.write(f"{period.month:%Y-%m}: {period.lines.count()} lines (draft).")
