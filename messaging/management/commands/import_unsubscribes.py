from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.models import Source
from messaging.services import import_unsubscribe_list


class Command(BaseCommand):
    """Unsubscribe every member whose phone is in the provider's unsubscribe list (xlsx/CSV)."""

    help = "Import a provider's unsubscribe list (退订名单)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--channel", default="sms", choices=["sms", "wechat"])

    def handle(self, *args, file, channel, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            with path.open("rb") as handle:
                done = import_unsubscribe_list(file=handle, file_name=path.name, channel=channel,
                                               source=Source.COMMAND)  # fmt: skip
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"rows {done.rows}, unsubscribed {done.unsubscribed}, already {done.already}, "
            f"not members {done.unknown}, not phone numbers {done.invalid}"
        )
