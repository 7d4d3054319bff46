from django.core.management.base import BaseCommand

from core.models import Source
from messaging.services import notify_points_expiring


class Command(BaseCommand):
    """Tell members whose points expire in the next N days (default
    MESSAGING_POINTS_EXPIRING_DAYS) how many and when: once per member and expiry date."""

    help = "Queue the points-expiring notices (daily)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args, days, **options):
        for dispatch in notify_points_expiring(source=Source.COMMAND, days=days):
            self.stdout.write(f"{dispatch.occasion}: {dispatch.queued} {dispatch.excluded}")
