"""Reusable reads of stored value."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.sql import column, table

from .models import Wallet, WalletEntry


def _entries_sum(field):
    return Coalesce(
        Subquery(
            WalletEntry.objects.filter(wallet=OuterRef("pk"))
            .order_by()
            .values("wallet")
            .annotate(total=Sum(field))
            .values("total"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        Value(Decimal("0.00")),
    )


def wallet_ledger_differences():
    """Wallets whose principal or bonus disagrees with the sum of their entries."""
    return (
        Wallet.objects.annotate(
            principal_total=_entries_sum("principal"), bonus_total=_entries_sum("bonus")
        )
        .filter(~Q(principal=F("principal_total")) | ~Q(bonus=F("bonus_total")))
        .select_related("member")
        .order_by("member_id")
    )


def stored_value_of(member_id):
    """The member's stored value (principal + bonus), 0.00 without a wallet."""
    row = Wallet.objects.filter(member_id=member_id).values_list("principal", "bonus").first()
    return sum(row, Decimal("0.00")) if row else Decimal("0.00")


def till_summary_sql():
    """The stored-value part of the till's view of a member (sales.selectors.member_summary),
    as a LATERAL subquery over `m.id`: principal + bonus, NULL without a wallet."""
    principal, bonus = column(Wallet, "principal"), column(Wallet, "bonus")
    return (
        f"""LEFT JOIN LATERAL (
            SELECT w.{principal} + w.{bonus} AS stored_value FROM {table(Wallet)} w
            WHERE w.{column(Wallet, "member")} = m.id
        ) wallet ON true""",
        ["stored_value"],
    )
