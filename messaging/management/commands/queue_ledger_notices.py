from django.core.management.base import BaseCommand

from core.models import Source
from messaging.services import queue_ledger_notices


class Command(BaseCommand):
    """Queue the stored-value and tier-upgrade notices of the last 30 minutes (each once)."""

    help = "Queue the notices the ledgers call for (stored value, tier upgrades)."

    def handle(self, *args, **options):
        for dispatch in queue_ledger_notices(source=Source.COMMAND):
            self.stdout.write(f"{dispatch.occasion}: {dispatch.queued}")
