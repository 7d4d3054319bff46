from datetime import date

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core.models import Source
from loyalty.services import grant_birthday_bonuses


class Command(BaseCommand):
    """Pay today's (or --on's) birthday bonuses; once per member per year, rerun-safe."""

    help = "Pay birthday bonus points (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--on", type=date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args, on=None, **options):
        paid = grant_birthday_bonuses(on=on, source=Source.COMMAND)
        self.stdout.write(_("Paid %(count)d birthday bonuses.") % {"count": paid})
