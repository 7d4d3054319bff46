from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from countcards.selectors import count_card_ledger_differences
from loyalty.selectors import points_ledger_differences
from wallet.selectors import wallet_ledger_differences


class Command(BaseCommand):
    """Verify every balance against its ledger; exit non-zero if any member differs.

    Points: balance == sum of entries == what is left in the member's lots.
    Stored value: principal and bonus each == the sum of their entries.
    Count cards: visits left == the sum of their entries.
    """

    help = "Check that every points and stored-value balance agrees with its ledger."

    def handle(self, *args, **options):
        problems = 0
        for account in points_ledger_differences().iterator(chunk_size=2000):
            problems += 1
            self.stderr.write(
                _("%(member)s points: balance %(balance)s, entries %(entries)s, lots %(lots)s")
                % {
                    "member": account.member,
                    "balance": account.balance,
                    "entries": account.entries_total,
                    "lots": account.lots_total,
                }
            )
        for wallet in wallet_ledger_differences().iterator(chunk_size=2000):
            problems += 1
            self.stderr.write(
                _(
                    "%(member)s stored value: principal %(p)s (entries %(pe)s), "
                    "bonus %(b)s (entries %(be)s)"
                )
                % {
                    "member": wallet.member,
                    "p": wallet.principal,
                    "pe": wallet.principal_total,
                    "b": wallet.bonus,
                    "be": wallet.bonus_total,
                }
            )
        for card in count_card_ledger_differences().iterator(chunk_size=2000):
            problems += 1
            self.stderr.write(
                _("%(member)s count card %(card)s: visits left %(left)s, entries %(entries)s")
                % {
                    "member": card.member,
                    "card": card.pk,
                    "left": card.visits_left,
                    "entries": card.visits_total,
                }
            )
        if problems:
            raise CommandError(
                _("%(count)d balances differ from their ledgers.") % {"count": problems}
            )
        if options["verbosity"]:
            self.stdout.write(_("All ledgers agree."))
