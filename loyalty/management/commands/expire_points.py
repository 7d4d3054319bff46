from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import Source
from loyalty.ledger import expire_points


class Command(BaseCommand):
    """Expire what is left in lots past their expiry as of a day (default today).

    Chunked and set-based; a second run as of the same day writes nothing.
    """

    help = "Expire points past due (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--chunk-size", type=int, default=1000, help="accounts per chunk")
        parser.add_argument(
            "--workers", type=int, default=None, help="threads (default settings.EXPIRY_WORKERS)"
        )

    def handle(self, *args, as_of=None, chunk_size, workers, **options):
        try:
            totals = expire_points(
                as_of=as_of or timezone.localdate(),
                source=Source.COMMAND,
                chunk_size=chunk_size,
                workers=workers,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _("Expired %(points)d points in %(lots)d lots of %(accounts)d members.") % totals
        )
