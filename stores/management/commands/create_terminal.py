from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stores.models import Store
from stores.services import create_terminal


class Command(BaseCommand):
    """Create a till for a store and print its API key, alone on the last line."""

    help = "Create a till (terminal) for a store and print its new API key once."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="store code, e.g. SH001")
        parser.add_argument("--code", required=True, help="till code, e.g. POS01")
        parser.add_argument("--name", default="")

    def handle(self, *args, store, code, name, **options):
        try:
            terminal, key = create_terminal(store_code=store, code=code, name=name)
        except Store.DoesNotExist:
            raise CommandError(_("No store with code %(code)s.") % {"code": store}) from None
        self.stdout.write(
            _("Till %(till)s created. Its API key is shown only now; give it to the till:")
            % {"till": terminal}
        )
        self.stdout.write(key)
