"""Every write of the reports app: the daily aggregates and snapshots (derived, recomputable),
and the settlement periods (a draft while open, frozen when closed)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.sql import WatermarkTimeout
from stores.access import store_groups_of_users
from stores.models import Store

from . import figures, settlement
from .exceptions import PeriodBusy, PeriodClosed, PeriodNotOver
from .models import DailyStats, ScopeActivity, SettlementLine, SettlementPeriod, StoreSnapshot

UPDATE_FIELDS = [*figures.MONEY_FIELDS, *figures.COUNT_FIELDS, "refreshed_at"]


def _day_rows(day):
    """The DailyStats rows of one day: one per store with any figure, and the chain's."""
    flows = figures.flows_by_store(day, day)
    active_7, chain_7 = figures.active_members(day - timedelta(days=6), day)
    active_30, chain_30 = figures.active_members(day - timedelta(days=29), day)
    _today, chain_1 = figures.active_members(day, day)
    outstanding = figures.outstanding_by_home_store(day)

    store_ids = set(Store.objects.values_list("id", flat=True))
    chain = figures.empty()
    rows = {}
    for store_id in store_ids | {k for k in flows if k is not None}:
        values = dict(flows.get(store_id) or figures.empty())
        values["active_members_7"] = active_7.get(store_id, 0)
        values["active_members_30"] = active_30.get(store_id, 0)
        points, principal, bonus = outstanding.get(store_id, (0, 0, 0))
        values["points_outstanding"] = points
        values["sv_principal_outstanding"] = principal
        values["sv_bonus_outstanding"] = bonus
        rows[store_id] = values
    # The chain: every store's flows plus the entries written without a store; active members
    # counted once however many stores they visited.
    for values in flows.values():
        for name in figures.FLOW_FIELDS:
            chain[name] += values[name]
    for points, principal, bonus in outstanding.values():
        chain["points_outstanding"] += points
        chain["sv_principal_outstanding"] += principal
        chain["sv_bonus_outstanding"] += bonus
    chain["active_members"] = chain_1
    chain["active_members_7"] = chain_7
    chain["active_members_30"] = chain_30
    rows[None] = chain
    return rows


def refresh_daily_stats(*, first_day=None, last_day=None, source, actor=None) -> int:
    """Recompute the daily figures of [first_day, last_day] (default: yesterday and today)
    from the base tables and store them, replacing what was there. Idempotent: the figures
    are a function of the ledgers, so a rerun writes the same rows. Returns rows written.

    `source`/`actor` name who ran it (the nightly task, a command) for the log; the rows are
    derived data and record only when they were refreshed.
    """
    today = timezone.localdate()
    last_day = last_day or today
    first_day = first_day or min(last_day, today - timedelta(days=1))
    now = timezone.now()
    written = _refresh_stores(first_day, last_day, now)
    # The groups of stores someone manages: these days, and the month before where a group's
    # day was never counted after it ended (a manager given a second store, or given back one
    # they lost), so their 30 days are complete. A day per transaction: a first run after an
    # upgrade counts a month for every group.
    scopes = {ScopeActivity.key(stores): stores for stores in store_groups_of_users()}
    start = min(first_day, last_day - timedelta(days=30))
    counted = {
        (scope, day)
        for scope, day, refreshed_at in ScopeActivity.objects.filter(
            scope__in=list(scopes), day__gte=start, day__lt=first_day
        ).values_list("scope", "day", "refreshed_at")
        if refreshed_at >= figures.bounds(day, day)[1]
    }
    day = start
    while day <= last_day:
        todo = [s for key, s in scopes.items() if day >= first_day or (key, day) not in counted]
        with transaction.atomic():
            written += _refresh_scope_activity(day, todo, now)
        day += timedelta(days=1)
    return written


@transaction.atomic
def _refresh_stores(first_day, last_day, now):
    written = 0
    day = first_day
    while day <= last_day:
        objs = [
            DailyStats(day=day, store_id=store_id, refreshed_at=now, **values)
            for store_id, values in _day_rows(day).items()
        ]
        DailyStats.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["day", "store"],
            update_fields=UPDATE_FIELDS,
        )
        written += len(objs)
        day += timedelta(days=1)
    return written


def _refresh_scope_activity(day, scopes, now):
    """The active members of `day` for each group of stores in `scopes`."""
    if not scopes:
        return 0
    objs = []
    for stores in scopes:
        counts = {
            days: figures.active_members(day - timedelta(days=days - 1), day, stores, False)[1]
            for days in (1, 7, 30)
        }
        objs.append(
            ScopeActivity(
                day=day,
                scope=ScopeActivity.key(stores),
                active_members=counts[1],
                active_members_7=counts[7],
                active_members_30=counts[30],
                refreshed_at=now,
            )
        )
    ScopeActivity.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["scope", "day"],
        update_fields=["active_members", "active_members_7", "active_members_30", "refreshed_at"],
    )
    return len(objs)


@transaction.atomic
def refresh_snapshots(*, source, actor=None) -> int:
    """Members by tier and points expiring in the next 30 days, per home store and for the
    chain, as of now (the dashboard's tier chart and expiry counter)."""
    now = timezone.now()
    tiers = figures.members_by_tier()
    expiring = figures.expiring_by_home_store(days=30, as_of=now)
    store_ids = set(Store.objects.values_list("id", flat=True))
    chain_tiers, chain_points, chain_members = {}, 0, 0
    objs = []
    for store_id in store_ids:
        counts = tiers.get(store_id, {})
        points, members = expiring.get(store_id, (0, 0))
        for tier, n in counts.items():
            chain_tiers[tier] = chain_tiers.get(tier, 0) + n
        chain_points += points
        chain_members += members
        objs.append(
            StoreSnapshot(
                store_id=store_id,
                taken_at=now,
                members=sum(counts.values()),
                tier_counts=counts,
                points_expiring_30=points,
                members_expiring_30=members,
            )
        )
    objs.append(
        StoreSnapshot(
            store_id=None,
            taken_at=now,
            members=sum(chain_tiers.values()),
            tier_counts=chain_tiers,
            points_expiring_30=chain_points,
            members_expiring_30=chain_members,
        )
    )
    StoreSnapshot.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["store"],
        update_fields=[
            "taken_at",
            "members",
            "tier_counts",
            "points_expiring_30",
            "members_expiring_30",
        ],
    )
    return len(objs)


# --- settlement ------------------------------------------------------------------------------


def _period(month, lock=False):
    month = settlement.month_start(month)
    period, _created = SettlementPeriod.objects.get_or_create(month=month)
    if lock:
        period = SettlementPeriod.objects.select_for_update().get(pk=period.pk)
    return period


def _write_lines(period, lines):
    period.lines.all().delete()
    SettlementLine.objects.bulk_create(
        SettlementLine(
            period=period,
            kind=line.kind,
            payer_id=line.payer,
            payee_id=line.payee,
            points=line.points,
            rate=line.rate,
            amount=line.amount,
        )
        for line in lines
    )


@transaction.atomic
def compute_settlement(*, month, source, actor=None) -> SettlementPeriod:
    """Recompute the draft lines of an open month (created open if new). A closed month is
    left as it is: PeriodClosed."""
    # The period row is locked so a close and a recompute of the same month never interleave.
    period = _period(month, lock=True)
    if period.is_closed:
        raise PeriodClosed(_("This settlement period is closed and never changes."))
    _write_lines(period, settlement.compute_lines(settlement.window_for(period)))
    period.computed_at = timezone.now()
    period.save(update_fields=["computed_at"])
    return period


@transaction.atomic
def close_settlement_period(*, month, actor, source) -> SettlementPeriod:
    """Compute a finished month's lines one last time and freeze them: a closed period never
    changes. Earlier open months must be closed first (their late rows would otherwise land
    in this one). Closing twice: PeriodClosed; a month not yet over: PeriodNotOver."""
    period = _period(month, lock=True)
    if period.is_closed:
        raise PeriodClosed(_("This settlement period is already closed."))
    if settlement.next_month(period.month) > timezone.localdate():
        raise PeriodNotOver(_("A month can be closed only after it has ended."))
    earlier_open = SettlementPeriod.objects.filter(
        month__lt=period.month, status=SettlementPeriod.Status.OPEN
    ).exists()
    if earlier_open:
        raise PeriodNotOver(_("Close the earlier open months first."))
    try:
        window = settlement.window_for(period, freeze=True)
    except WatermarkTimeout:
        raise PeriodBusy() from None
    _write_lines(period, settlement.compute_lines(window))
    now = timezone.now()
    period.status = SettlementPeriod.Status.CLOSED
    period.computed_at = period.closed_at = now
    period.closed_by = actor
    period.last_consumption_id = window.upto_consumption
    period.last_wallet_entry_id = window.upto_wallet
    period.last_coupon_event_id = window.upto_coupon
    period.save()
    return period


def refresh_open_settlements(*, source, actor=None):
    """The nightly draft: recompute this month, last month (the next one to close) and every
    earlier month still open."""
    this_month = settlement.month_start(timezone.localdate())
    last_month = settlement.month_start(this_month - timedelta(days=1))
    if not SettlementPeriod.objects.filter(month=last_month).exists():
        _period(last_month)
    _period(this_month)
    done = []
    for period in SettlementPeriod.objects.filter(
        status=SettlementPeriod.Status.OPEN, month__lte=this_month
    ).order_by("month"):
        done.append(compute_settlement(month=period.month, source=source, actor=actor))
    return done
