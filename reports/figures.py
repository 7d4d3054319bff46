"""The dashboard's figures computed from the base tables (sales, members, the ledgers).

The daily job stores them per day and store (`services.refresh_daily_stats`); the dashboard
computes only today's live, from today's rows, which every query here reaches through an index
on (store, time) or on time. Days are local (Asia/Shanghai) calendar days.

`stores`: None for the whole chain (entries without a store included), or a set of store ids.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from loyalty.models import PointsAccount, PointsEntry
from members.models import Member
from sales.models import Refund, Sale
from stores.models import Store
from wallet.models import Wallet, WalletEntry

ZERO = Decimal("0.00")
PK = PointsEntry.Kind
WK = WalletEntry.Kind

# Points that arrive (net of earned points taken back by refunds), are spent (net of spends
# given back), expire. Together they are every entry: issued - redeemed - expired = the change.
ISSUE_KINDS = [PK.OPENING, PK.EARN, PK.BONUS, PK.ADJUST, PK.EARN_REVERSAL]
SPEND_KINDS = [PK.REDEEM, PK.GIFT, PK.REDEEM_REVERSAL]

MONEY_FIELDS = [
    "sales_amount",
    "paid_amount",
    "points_offset",
    "refund_amount",
    "sv_recharged",
    "sv_bonus_given",
    "sv_spent",
    "sv_principal_outstanding",
    "sv_bonus_outstanding",
]
COUNT_FIELDS = [
    "sales_count",
    "new_members",
    "active_members",
    "active_members_7",
    "active_members_30",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_outstanding",
]
FLOW_FIELDS = [
    "sales_count",
    "sales_amount",
    "paid_amount",
    "points_offset",
    "refund_amount",
    "new_members",
    "active_members",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "sv_recharged",
    "sv_bonus_given",
    "sv_spent",
]


def empty():
    return {name: ZERO for name in MONEY_FIELDS} | {name: 0 for name in COUNT_FIELDS}


def bounds(first_day, last_day):
    """[start of first_day, start of the day after last_day) in local time."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first_day, time.min), tz)
    end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), tz)
    return start, end


def _by_store(queryset, field, stores, with_null=True):
    """Scope to `stores`. For the whole chain the store list is still named, so PostgreSQL
    reaches today's rows through the (store, created_at) index instead of reading the table."""
    if stores is None:
        ids = list(Store.objects.values_list("id", flat=True))
        condition = Q(**{f"{field}__in": ids})
        if with_null:
            condition |= Q(**{f"{field}__isnull": True})
        return queryset.filter(condition)
    return queryset.filter(**{f"{field}__in": stores})


def _add(target, key, row, names):
    for name in names:
        target[key][name] += row[name] or 0


def flows_by_store(first_day, last_day, stores=None):
    """{store id (None: no store): {figure: value}} for the movements of [first_day, last_day].

    `active_members` here is distinct members per store; the chain's distinct count is
    `active_members_chain`. Six grouped queries, each over the period's rows only.
    """
    start, end = bounds(first_day, last_day)
    out = defaultdict(empty)

    sales = _by_store(
        Sale.objects.filter(created_at__gte=start, created_at__lt=end), "store", stores, False
    )
    for row in (
        sales.values("store_id")
        .annotate(
            sales_count=Count("id"),
            sales_amount=Sum("total"),
            paid_amount=Sum("amount_due"),
            points_offset=Sum("offset_amount"),
            active_members=Count("member_id", distinct=True),
        )
        .order_by()
    ):
        _add(
            out,
            row["store_id"],
            row,
            ["sales_count", "sales_amount", "paid_amount", "points_offset", "active_members"],
        )

    refunds = Refund.objects.filter(created_at__gte=start, created_at__lt=end)
    if stores is not None:
        refunds = refunds.filter(store_id__in=stores)
    for row in refunds.values("store_id").annotate(refund_amount=Sum("amount")).order_by():
        _add(out, row["store_id"], row, ["refund_amount"])

    members = Member.objects.filter(opened_at__gte=start, opened_at__lt=end)
    if stores is not None:
        members = members.filter(home_store_id__in=stores)
    for row in members.values("home_store_id").annotate(new_members=Count("id")).order_by():
        _add(out, row["home_store_id"], row, ["new_members"])

    entries = _by_store(
        PointsEntry.objects.filter(created_at__gte=start, created_at__lt=end), "store", stores
    )
    for row in (
        entries.values("store_id")
        .annotate(
            points_issued=Sum("points", filter=Q(kind__in=ISSUE_KINDS)),
            points_redeemed=-Sum("points", filter=Q(kind__in=SPEND_KINDS)),
            points_expired=-Sum("points", filter=Q(kind=PK.EXPIRE)),
        )
        .order_by()
    ):
        _add(out, row["store_id"], row, ["points_issued", "points_redeemed", "points_expired"])

    wallet = WalletEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    if stores is not None:
        wallet = wallet.filter(store_id__in=stores)
    value = F("principal") + F("bonus")
    for row in (
        wallet.values("store_id")
        .annotate(
            sv_recharged=Sum("principal", filter=Q(kind=WK.RECHARGE)),
            sv_bonus_given=Sum("bonus", filter=Q(kind=WK.RECHARGE)),
            sv_spent=-Sum(value, filter=Q(kind__in=[WK.PAYMENT, WK.REFUND])),
        )
        .order_by()
    ):
        _add(out, row["store_id"], row, ["sv_recharged", "sv_bonus_given", "sv_spent"])
    return out


def _sales_of(first_day, last_day, stores):
    """The sales of [first_day, last_day] in `stores` (None: every store)."""
    start, end = bounds(first_day, last_day)
    return _by_store(
        Sale.objects.filter(created_at__gte=start, created_at__lt=end), "store", stores, False
    )


def active_members(first_day, last_day, stores=None, per_store=True):
    """(distinct members with a sale per store, distinct members over all of `stores`)."""
    sales = _sales_of(first_day, last_day, stores)
    per_store = per_store and {
        row["store_id"]: row["n"]
        for row in sales.values("store_id").annotate(n=Count("member_id", distinct=True)).order_by()
    }
    total = sales.aggregate(n=Count("member_id", distinct=True))["n"] or 0
    return per_store, total


def active_members_by_day(first_day, last_day, stores):
    """{local day: distinct members with a sale in any of `stores` that day}."""
    rows = (
        _sales_of(first_day, last_day, stores)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("member_id", distinct=True))
        .order_by()
    )
    return {row["day"]: row["n"] for row in rows}


def outstanding_by_home_store(at_end_of, stores=None):
    """{home store id: (points, principal, bonus)} outstanding at the end of a day: today's
    balances less every entry written since (balance == the sum of its entries)."""
    _start, end = bounds(at_end_of, at_end_of)
    out = defaultdict(lambda: [0, ZERO, ZERO])
    accounts = PointsAccount.objects.all()
    wallets = Wallet.objects.all()
    later_points = PointsEntry.objects.filter(created_at__gte=end)
    later_wallet = WalletEntry.objects.filter(created_at__gte=end)
    if stores is not None:
        accounts = accounts.filter(member__home_store_id__in=stores)
        wallets = wallets.filter(member__home_store_id__in=stores)
        later_points = later_points.filter(account__member__home_store_id__in=stores)
        later_wallet = later_wallet.filter(wallet__member__home_store_id__in=stores)
    else:
        later_points = _by_store(later_points, "store", None)
    for row in accounts.values("member__home_store_id").annotate(p=Sum("balance")).order_by():
        out[row["member__home_store_id"]][0] += row["p"] or 0
    for row in (
        later_points.values("account__member__home_store_id").annotate(p=Sum("points")).order_by()
    ):
        out[row["account__member__home_store_id"]][0] -= row["p"] or 0
    for row in (
        wallets.values("member__home_store_id")
        .annotate(p=Sum("principal"), b=Sum("bonus"))
        .order_by()
    ):
        out[row["member__home_store_id"]][1] += row["p"] or ZERO
        out[row["member__home_store_id"]][2] += row["b"] or ZERO
    for row in (
        later_wallet.values("wallet__member__home_store_id")
        .annotate(p=Sum("principal"), b=Sum("bonus"))
        .order_by()
    ):
        out[row["wallet__member__home_store_id"]][1] -= row["p"] or ZERO
        out[row["wallet__member__home_store_id"]][2] -= row["b"] or ZERO
    return out


def members_by_tier(stores=None):
    """{home store id: {tier id or "none": members}} as of now."""
    members = Member.objects.all()
    if stores is not None:
        members = members.filter(home_store_id__in=stores)
    out = defaultdict(dict)
    for row in members.values("home_store_id", "tier_id").annotate(n=Count("id")).order_by():
        out[row["home_store_id"]][str(row["tier_id"] or "none")] = row["n"]
    return out


def expiring_by_home_store(days=30, stores=None, as_of=None):
    """{home store id: (points, members)} of unspent points expiring in the next `days` days,
    read through the open-lots-by-expiry index."""
    from loyalty.models import PointsLot

    start = as_of or timezone.now()
    lots = PointsLot.objects.filter(
        remaining__gt=0, expires_at__gt=start, expires_at__lte=start + timedelta(days=days)
    )
    if stores is not None:
        lots = lots.filter(account__member__home_store_id__in=stores)
    return {
        row["account__member__home_store_id"]: (row["p"] or 0, row["m"])
        for row in lots.values("account__member__home_store_id")
        .annotate(p=Sum("remaining"), m=Count("account_id", distinct=True))
        .order_by()
    }
