from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core.models import Source
from countcards.services import expire_count_cards


class Command(BaseCommand):
    """Zero the unused visits of count cards past their expiry (safe to rerun)."""

    help = "Expire count cards past their expiry date."

    def handle(self, *args, **options):
        count = expire_count_cards(source=Source.COMMAND)
        if options["verbosity"]:
            self.stdout.write(_("%(count)d count cards expired.") % {"count": count})
