from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from countcards.selectors import count_card_ledger_differences
from coupons.selectors import event_differences, holding_differences, template_count_differences
from loyalty.selectors import points_ledger_differences
from sales.selectors import used_coupons_without_a_sale
from wallet.selectors import wallet_ledger_differences


class Command(BaseCommand):
    """Verify every balance against its ledger; exit non-zero if any member differs.

    Points: balance == sum of entries == what is left in the member's lots.
    Stored value: principal and bonus each == the sum of their entries.
    Count cards: visits left == the sum of their entries.
    Coupons: per template, issued == available + used + expired + voided; each member's
    holding == their coupons not voided; each coupon's status is what its last event left;
    every used coupon was used by a sale.
    """

    help = "Check that every balance and count agrees with its ledger."

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
        for template, issued, counted in template_count_differences():
            problems += 1
            self.stderr.write(
                _("coupon template %(template)s: issued %(issued)s, coupons %(counted)s")
                % {"template": template.code, "issued": issued, "counted": counted}
            )
        for template_id, member_id, held, counted in holding_differences():
            problems += 1
            self.stderr.write(
                _("member %(member)s holds %(held)s of coupon template %(t)s, %(n)s not voided")
                % {"member": member_id, "held": held, "t": template_id, "n": counted}
            )
        for code, status, kind in event_differences():
            problems += 1
            self.stderr.write(
                _("coupon %(code)s is %(status)s but its last event is %(kind)s")
                % {"code": code, "status": status, "kind": kind or "-"}
            )
        for code in used_coupons_without_a_sale():
            problems += 1
            self.stderr.write(_("coupon %(code)s is used but no sale used it") % {"code": code})
        if problems:
            raise CommandError(
                _("%(count)d balances differ from their ledgers.") % {"count": problems}
            )
        if options["verbosity"]:
            self.stdout.write(_("All ledgers agree."))
