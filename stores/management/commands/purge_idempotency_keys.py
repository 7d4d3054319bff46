from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from stores.services import purge_idempotency_records


class Command(BaseCommand):
    """Delete till idempotency keys older than IDEMPOTENCY_KEY_RETENTION_DAYS (or --days)."""

    help = "Delete till API idempotency keys older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override the retention")

    def handle(self, *args, days, **options):
        deleted = purge_idempotency_records(older_than_days=days)
        self.stdout.write(_("%(count)d idempotency keys deleted.") % {"count": deleted})
