import time

from django.core.management.base import BaseCommand, CommandError

from seeds.scale import seed_scale


class Command(BaseCommand):
    """Build a chain at benchmark scale, set-based (see seeds/scale.py): by default 1,000,000
    members with cards, accounts, wallets, opening lots and a year of sales, about 10,000,000
    ledger entries. Needs a database without members (a scratch database: benchmarks/)."""

    help = "Build a chain of a million members with a year of sales (set-based, minutes)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=1_000_000)
        parser.add_argument(
            "--sales-per-member", type=int, default=6, help="average sales in the year"
        )
        parser.add_argument("--stores", type=int, default=100)
        parser.add_argument(
            "--check-references",
            action="store_true",
            help="check every foreign key row by row (slower; the test suite does)",
        )

    def handle(self, *args, members, sales_per_member, stores, check_references, **options):
        started = time.monotonic()
        try:
            seed_scale(
                members=members,
                sales_per_member=sales_per_member,
                stores=stores,
                out=self.stdout.write,
                check_references=check_references,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"seed_scale done in {time.monotonic() - started:.1f} s")
