from django.core.management.base import BaseCommand

from messaging.services import send_due_messages


class Command(BaseCommand):
    """Send the messages that are due now (what the every-minute task does), without a
    broker: held marketing at the end of quiet hours, retries, new queues."""

    help = "Send the messages that are due now."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args, limit, **options):
        report = send_due_messages(limit=limit)
        for status, n in sorted(report.items()):
            self.stdout.write(f"{status}: {n}")
