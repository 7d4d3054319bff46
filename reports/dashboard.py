"""The admin home: 总部看板 for head office, 门店看板 for a store manager (their stores only).

Today is computed live from today's rows (indexed); the 7- and 30-day columns are the 7 and 30
full days ending yesterday, read from the daily aggregate table the nightly job keeps; the
liabilities are yesterday's closing figure plus today's movements; the tier chart and the
expiring-points counter come from the job's snapshot. So the page reads a few dozen rows
whatever the size of the chain (benchmarks/dashboard.py measures it).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import PointsAdjustment
from members.models import Tier
from stores.access import ALL_STORES, allowed_store_ids
from stores.models import Store
from wallet.models import WithdrawalRequest

from . import charts, figures, settlement
from .models import DailyStats, ScopeActivity, StoreSnapshot, StoreTakings
from .tables import Column as TableColumn

ZERO = Decimal("0.00")


@dataclass
class Column:
    label: str
    first: object
    last: object
    values: dict


def _sum_rows(rows):
    out = figures.empty()
    for row in rows:
        for name in (*figures.MONEY_FIELDS, *figures.COUNT_FIELDS):
            out[name] += getattr(row, name)
    return out


def _share(amount, takings):
    return (amount / takings) if takings else None


FIGURES = [
    ("sales_amount", "money"),
    ("share", "percent"),
    ("sales_count", "int"),
    ("new_members", "int"),
    ("active_members", "int"),
    ("points_issued", "int"),
    ("points_redeemed", "int"),
    ("points_expired", "int"),
    ("sv_recharged", "money"),
    ("sv_spent", "money"),
]


def figure_labels():
    return {
        "sales_amount": _("Member sales (yuan)"),
        "share": _("Members' share of sales"),
        "sales_count": _("Member sales (count)"),
        "new_members": _("New members"),
        "active_members": _("Active members"),
        "points_issued": _("Points issued"),
        "points_redeemed": _("Points redeemed"),
        "points_expired": _("Points expired"),
        "sv_recharged": _("Stored value recharged (yuan)"),
        "sv_spent": _("Stored value spent (yuan)"),
    }


def figure_rows(columns):
    """[{label, key, cells}] formatted for the page (money: 2 decimals, thousands separators)."""
    labels = figure_labels()
    rows = []
    for key, kind in FIGURES:
        column = TableColumn(key, labels[key], kind)
        cells = [column.display(c.values.get(key)) or "—" for c in columns]
        rows.append({"key": key, "label": labels[key], "cells": cells})
    return rows


def build(user):
    """Everything the dashboard shows, for `user`'s stores."""
    stores = allowed_store_ids(user)
    stores = None if stores is ALL_STORES else set(stores)
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    first_30 = today - timedelta(days=30)

    stats = DailyStats.objects.filter(day__gte=first_30, day__lte=yesterday)
    stats = (
        stats.filter(store__isnull=True) if stores is None else stats.filter(store_id__in=stores)
    )
    by_day = defaultdict(list)
    for row in stats:
        by_day[row.day].append(row)
    daily = {day: _sum_rows(rows) for day, rows in by_day.items()}

    live = figures.flows_by_store(today, today, stores)
    today_values = figures.empty()
    for values in live.values():
        for name in figures.FLOW_FIELDS:
            today_values[name] += values[name]
    today_values["active_members"] = figures.active_members(today, today, stores, per_store=False)[
        1
    ]

    # Members' share of sales: member sales over takings, on the (store, day) pairs whose
    # takings were entered only, so a store without its figure does not inflate the share.
    takings_q = StoreTakings.objects.filter(day__gte=first_30, day__lte=today)
    if stores is not None:
        takings_q = takings_q.filter(store_id__in=stores)
    takings = {(t.store_id, t.day): t.amount for t in takings_q}
    matched = {}
    past = [(store_id, day) for store_id, day in takings if day < today]
    if past:
        for row in DailyStats.objects.filter(
            store_id__in={store_id for store_id, _d in past},
            day__in={day for _s, day in past},
        ).values("store_id", "day", "sales_amount"):
            matched[(row["store_id"], row["day"])] = row["sales_amount"]
    for store_id, values in live.items():
        matched[(store_id, today)] = values["sales_amount"]

    def share(first, last):
        pairs = [key for key in takings if first <= key[1] <= last]
        taken = sum((takings[key] for key in pairs), ZERO)
        return _share(sum((matched.get(key, ZERO) for key in pairs), ZERO), taken)

    # A member who shopped in two of these stores is one active member: several stores' own
    # counts cannot be added up. The daily job counts them for each group of stores someone
    # manages; a group it has not seen yet (a manager given a store today) is counted live.
    group = None
    if stores is not None and len(stores) > 1:
        # Only days the job counted after they ended (a row written at 00:40 for its own day
        # holds 40 minutes): a month of them, or none at all.
        group = {
            row.day: row
            for row in ScopeActivity.objects.filter(
                scope=ScopeActivity.key(stores), day__gte=first_30, day__lte=yesterday
            )
            if row.refreshed_at >= figures.bounds(row.day, row.day)[1]
        }
        if len(group) < (yesterday - first_30).days + 1:
            group = {}

    def group_closing(days):
        if group:
            return getattr(group[yesterday], f"active_members_{days}")
        return figures.active_members(
            yesterday - timedelta(days=days - 1), yesterday, stores, per_store=False
        )[1]

    def window(days):
        first = today - timedelta(days=days)
        values = figures.empty()
        for day in (first + timedelta(days=n) for n in range(days)):
            for name in figures.FLOW_FIELDS:
                values[name] += daily.get(day, {}).get(name, 0)
        closing = daily.get(yesterday, figures.empty())
        if group is not None:
            values["active_members"] = group_closing(days)
        else:
            values["active_members"] = closing[f"active_members_{days}"]
        values["share"] = share(first, yesterday)
        return Column(_("Last %(days)d days") % {"days": days}, first, yesterday, values)

    today_values["share"] = share(today, today)
    columns = [Column(_("Today"), today, today, today_values), window(7), window(30)]

    # Liabilities at the close of the last day the job computed (yesterday, once the nightly
    # job has run): a day-end figure, as finance reports it, read from one row per store.
    # Today's movements are in the Today column. (Adding them live would join today's entries
    # to members for a store's view: measured at a third of the page's budget at scale.)
    closing, closing_day = daily.get(yesterday), yesterday
    if closing is None:
        latest = DailyStats.objects.filter(day__lt=today)
        latest = (
            latest.filter(store__isnull=True)
            if stores is None
            else latest.filter(store_id__in=stores)
        )
        closing_day = latest.order_by("-day").values_list("day", flat=True).first()
        closing = _sum_rows(latest.filter(day=closing_day)) if closing_day else figures.empty()
    rate = settlement.redemption_value(today)
    liabilities = {
        "as_of": closing_day,
        "points": closing["points_outstanding"],
        "points_value": (Decimal(closing["points_outstanding"]) * rate).quantize(Decimal("0.01")),
        "principal": closing["sv_principal_outstanding"],
        "bonus": closing["sv_bonus_outstanding"],
    }
    liabilities["stored_value"] = liabilities["principal"] + liabilities["bonus"]

    snapshots = (
        StoreSnapshot.objects.filter(store__isnull=True)
        if stores is None
        else (StoreSnapshot.objects.filter(store_id__in=stores))
    )
    snapshots = list(snapshots)
    tier_counts = defaultdict(int)
    expiring_points = expiring_members = 0
    for snap in snapshots:
        for tier, n in snap.tier_counts.items():
            tier_counts[tier] += n
        expiring_points += snap.points_expiring_30
        expiring_members += snap.members_expiring_30
    snapshot_at = max((s.taken_at for s in snapshots), default=None)

    adjustments = PointsAdjustment.objects.filter(status=PointsAdjustment.Status.PENDING)
    withdrawals = WithdrawalRequest.objects.filter(status=WithdrawalRequest.Status.PENDING)
    if stores is not None:
        adjustments = adjustments.filter(store_id__in=stores)
        withdrawals = withdrawals.filter(member__home_store_id__in=stores)
    counters = [
        {
            "label": _("Points adjustments waiting for approval"),
            "value": adjustments.count(),
            "url": reverse("admin:loyalty_pointsadjustment_changelist") + "?status__exact=pending",
        },
        {
            "label": _("Withdrawals waiting for approval"),
            "value": withdrawals.count(),
            "url": reverse("admin:wallet_withdrawalrequest_changelist") + "?status__exact=pending",
        },
        {
            "label": _("Points expiring in 30 days"),
            "value": expiring_points,
            "detail": _("%(members)s members") % {"members": f"{expiring_members:,}"},
            "url": reverse("admin:reports_report", args=["points-expiring"]),
        },
    ]

    days = [first_30 + timedelta(days=n) for n in range(31)]
    trend_values = {**daily, today: today_values}
    if group is not None:
        # As for the 7 and 30 days: one member in two of these stores on a day counts once.
        if group:
            by_day = {day: row.active_members for day, row in group.items()}
        else:
            by_day = figures.active_members_by_day(first_30, yesterday, stores)
        for day, values in daily.items():
            values["active_members"] = by_day.get(day, 0)
    labels = [d.strftime("%m-%d") for d in days]
    trend = charts.bar_line(
        _("Member sales and active members, last 30 days"),
        labels,
        bars=[(_("Member sales"), [trend_values.get(d, {}).get("sales_amount", 0) for d in days])],
        lines=[
            (_("Active members"), [trend_values.get(d, {}).get("active_members", 0) for d in days])
        ],
    )
    points_trend = charts.bar_line(
        _("Points issued, redeemed and expired"),
        labels,
        lines=[
            (_("Issued"), [trend_values.get(d, {}).get("points_issued", 0) for d in days]),
            (_("Redeemed"), [trend_values.get(d, {}).get("points_redeemed", 0) for d in days]),
            (_("Expired"), [trend_values.get(d, {}).get("points_expired", 0) for d in days]),
        ],
    )
    tiers = {str(t.pk): t.name for t in Tier.objects.order_by("rank")}
    tiers["none"] = _("No tier")
    tier_chart = charts.pie(
        _("Members by tier"),
        [(tiers.get(key, key), n) for key, n in sorted(tier_counts.items()) if n],
    )
    store_stats = DailyStats.objects.filter(
        day__gte=first_30, day__lte=yesterday, store__isnull=False
    )
    if stores is not None:
        store_stats = store_stats.filter(store_id__in=stores)
    per_store = {
        row["store_id"]: row["amount"]
        for row in store_stats.values("store_id").annotate(amount=Sum("sales_amount")).order_by()
    }
    for store_id, values in live.items():
        if store_id is not None:
            per_store[store_id] = per_store.get(store_id, ZERO) + values["sales_amount"]
    names = {s.pk: str(s) for s in Store.objects.filter(pk__in=per_store)}
    ordered = sorted(per_store.items(), key=lambda kv: kv[1])
    store_chart = charts.bar_line(
        _("Member sales by store, last 30 days"),
        [names.get(k, k) for k, _v in ordered],
        bars=[(_("Member sales"), [v for _k, v in ordered])],
        horizontal=True,
    )
    refreshed = (
        DailyStats.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    )
    return {
        "columns": columns,
        "rows": figure_rows(columns),
        "liabilities": liabilities,
        "counters": counters,
        "charts": [trend, store_chart, points_trend, tier_chart],
        "is_chain": stores is None,
        "refreshed_at": refreshed,
        "snapshot_at": snapshot_at,
        "rate": rate,
    }
