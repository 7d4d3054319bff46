"""Stored-value report queries and their Excel export (head office and store managers).

Liability is what the chain owes its members: principal and bonus outstanding, by the member's
home store, and the chain total. Flows are recharges and spend by day and by the store where
they happened. Both are scoped by `stores.access`: a store manager sees only their stores.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from core import excel
from stores.access import scope_queryset
from stores.models import Store

from .models import Wallet, WalletEntry

ZERO = Decimal("0.00")
Kind = WalletEntry.Kind


def liability_by_store(user):
    """Rows per home store: members with a balance, principal, bonus, total; and the chain total.

    One grouped query over wallets (no per-store loop).
    """
    wallets = scope_queryset(
        Wallet.objects.filter(Q(principal__gt=0) | Q(bonus__gt=0)), user, "member__home_store"
    )
    grouped = (
        wallets.values("member__home_store")
        .annotate(members=Count("pk"), principal=Sum("principal"), bonus=Sum("bonus"))
        .order_by("member__home_store")
    )
    stores = Store.objects.in_bulk([g["member__home_store"] for g in grouped])
    rows = []
    total = {"members": 0, "principal": ZERO, "bonus": ZERO}
    for g in grouped:
        row = {
            "store": stores[g["member__home_store"]],
            "members": g["members"],
            "principal": g["principal"] or ZERO,
            "bonus": g["bonus"] or ZERO,
        }
        row["total"] = row["principal"] + row["bonus"]
        rows.append(row)
        for field in ("members", "principal", "bonus"):
            total[field] += row[field]
    rows.sort(key=lambda r: r["store"].code)
    total["total"] = total["principal"] + total["bonus"]
    return rows, total


def _day_bounds(date_from, date_to):
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz)
    return start, end


def flows_by_day_and_store(user, date_from: date, date_to: date):
    """Rows per (local day, store): recharged principal and bonus, spend net of refunds,
    withdrawals, transfers in and out. One grouped query, scoped by the entry's store."""
    start, end = _day_bounds(date_from, date_to)
    entries = scope_queryset(
        WalletEntry.objects.filter(created_at__gte=start, created_at__lt=end), user, "store"
    )

    def total(kinds, field=None):
        kinds = kinds if isinstance(kinds, list | tuple) else [kinds]
        if field:
            return Sum(field, filter=Q(kind__in=kinds))
        return Sum("principal", filter=Q(kind__in=kinds)) + Sum("bonus", filter=Q(kind__in=kinds))

    grouped = (
        entries.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "store")
        .annotate(
            recharge_principal=total(Kind.RECHARGE, "principal"),
            recharge_bonus=total(Kind.RECHARGE, "bonus"),
            paid_principal=total(Kind.PAYMENT, "principal"),
            paid_bonus=total(Kind.PAYMENT, "bonus"),
            refunded_principal=total(Kind.REFUND, "principal"),
            refunded_bonus=total(Kind.REFUND, "bonus"),
            withdrawn=total(Kind.WITHDRAWAL, "principal"),
            forfeited=total(Kind.BONUS_FORFEIT, "bonus"),
        )
        .order_by("day", "store")
    )
    stores = Store.objects.in_bulk([g["store"] for g in grouped if g["store"]])
    rows = []
    for g in grouped:
        spend = -((g["paid_principal"] or ZERO) + (g["paid_bonus"] or ZERO)) - (
            (g["refunded_principal"] or ZERO) + (g["refunded_bonus"] or ZERO)
        )
        rows.append(
            {
                "day": g["day"],
                "store": stores.get(g["store"]),
                "recharge_principal": g["recharge_principal"] or ZERO,
                "recharge_bonus": g["recharge_bonus"] or ZERO,
                "spend": spend,
                "withdrawn": -(g["withdrawn"] or ZERO),
                "forfeited": -(g["forfeited"] or ZERO),
            }
        )
    return rows


LIABILITY_COLUMNS = [
    ("store", lambda r: str(r["store"])),
    ("members", lambda r: r["members"]),
    ("principal", lambda r: r["principal"]),
    ("bonus", lambda r: r["bonus"]),
    ("total", lambda r: r["total"]),
]
FLOW_COLUMNS = [
    ("day", lambda r: r["day"]),
    ("store", lambda r: str(r["store"]) if r["store"] else ""),
    ("recharge_principal", lambda r: r["recharge_principal"]),
    ("recharge_bonus", lambda r: r["recharge_bonus"]),
    ("spend", lambda r: r["spend"]),
    ("withdrawn", lambda r: r["withdrawn"]),
    ("forfeited", lambda r: r["forfeited"]),
]


def column_titles():
    return {
        "store": _("Store"),
        "members": _("Members with a balance"),
        "principal": _("Principal outstanding"),
        "bonus": _("Bonus outstanding"),
        "total": _("Total outstanding"),
        "day": _("Day"),
        "recharge_principal": _("Recharged (principal)"),
        "recharge_bonus": _("Recharge bonus given"),
        "spend": _("Spent (net of refunds)"),
        "withdrawn": _("Withdrawn"),
        "forfeited": _("Bonus forfeited"),
    }


# How each report column is written: money as numbers with the money format, counts with the
# count format, days as dates (core.excel), never as text.
MONEY_COLUMNS = {
    "principal", "bonus", "total", "recharge_principal", "recharge_bonus", "spend", "withdrawn",
    "forfeited",
}  # fmt: skip
COUNT_COLUMNS = {"members"}


def to_xlsx(title, columns, rows, total=None, total_label=None) -> bytes:
    """An .xlsx workbook of one report (write-only, so big ranges stay cheap): a bold header,
    money cells as numbers with the #,##0.00 format (sums and charts work in Excel), counts
    with #,##0, days as date cells."""
    titles = column_titles()
    book = excel.Book()
    sheet = book.sheet(title)

    def cell(name, value):
        if value is None:
            return None
        if name in MONEY_COLUMNS:
            return excel.money(value)
        if name in COUNT_COLUMNS:
            return excel.count(value)
        if name == "day":
            return excel.day(value)
        return value

    sheet.header([titles[name] for name, _get in columns])
    for row in rows:
        sheet.row([cell(name, get(row)) for name, get in columns])
    if total is not None:
        sheet.row(
            [total_label or _("Chain total")]
            + [cell(name, total[name]) for name, _get in columns[1:]],
            bold=True,
        )
    return book.to_bytes()
