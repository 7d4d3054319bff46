from datetime import date

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core.models import Source
from loyalty.services import review_tiers


class Command(BaseCommand):
    """Monthly tier retention review: downgrade members whose last 12 months fall short."""

    help = "Review tiers and downgrade members below their tier's retention rule."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args, as_of=None, **options):
        moved = review_tiers(as_of=as_of, source=Source.COMMAND)
        self.stdout.write(_("%(count)d members moved down a tier.") % {"count": moved})
