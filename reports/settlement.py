"""Cross-store settlement (跨店结算): who owes whom for value one store gave out and another
took in, month by month, with head office as the clearing house.

**Points.** A points lot's issuing store is the store of the entry that created it
(`PointsLot.entry.store`); a redemption's `LotConsumption` rows say exactly which lots it took,
and the consuming entry's store is where the points were spent. The issuing store owes the
spending store `points × rate` (it kept the sale that earned them; the spending store gave the
discount or the gift). A refund that gives spent points back (a `redeem_reversal` entry, whose
consumption rows are negative) is a reversing line in the period of the refund, between the
same two stores as the spend it reverses. Expiry and earned points taken back by a refund move
lots too, but between no two stores: they are not settled.

**Rate.** `SettlementRate` is a dated setting: the rate in force on the day of the spend; before
any, the redemption value of the redemption rule in force that day (1 / points per yuan). A
reversal is priced at the rate of the spend it reverses, not of the refund's day (a rate
change in between would leave stores owing for nothing). The spends of each (payer, payee,
rate) line are rounded to the cent once; each reversal is the difference its points make to
the rounded value of what its spend has had given back, so a spend given back in pieces over
several months nets to what it was booked at, to the cent.

**Stored value** (rule chosen here, FIFO over the member's credits): each wallet's entries are
replayed in time order as a queue of credits, each funded by one store: a recharge, an opening
balance or a positive adjustment by the store of its entry (none: head office), a transfer in
by the store where the transfer was made. What the closed periods took in is replayed first,
period by period, as they took it: an entry written later with an earlier date (a backdated
opening balance or recharge) never changes which credits a closed month's payments took, so no
store pays twice for one recharge. A payment, a withdrawal or a transfer out takes from
the oldest credits first; the store funding each piece owes the store of the debit (where the
goods or the cash went out) the amount of the piece, principal and bonus alike (the recharging
store received the money and granted the bonus). A stored-value refund gives the money back to
the very credits its payment took and is a reversing line in the period of the refund. A
forfeited bonus or a negative adjustment leaves the queue without a counterparty.

**Coupons.** Each coupon's terms say who funds its discount: head office, the redeeming store
or a split (the store's share in percent). Head office owes the store that accepted a coupon at
the till its funded part of the discount (the USED event's discount in the coupon ledger); a
whole refund is a reversing line in the refund's period (the RETURNED event carries the same
discount, or the REFUNDED event when the coupon's terms keep it used: the member loses the
coupon, but the discount went with the sale). Left as it is: a partial refund (the coupon is
not given back; the refunded lines' share of the discount stays with the store, which paid
the member back net of it). `SOURCES` lists the functions that produce a period's lines, one
per kind.

**Periods.** A period is a local calendar month. While open, its lines are a draft recomputed
by the nightly job; `close_settlement_period` computes them one last time and freezes them (with
the last base-table ids they took in: lot consumptions, stored-value entries, coupon events).
A row dated in a closed month but written after it closed (a backdated import, an offline sale
posted late) lands in the first open period, so a closed period never changes. The ids a close
freezes are commit-safe watermarks (`core.sql.settled_watermark`): the close waits for the
transactions that hold ids below the mark to end, so a row whose id was taken before the close
but committed after it is in the closed month, not in neither.

**Clearing.** Each store's net position is what it is owed less what it owes; the positions of
all parties (head office included) sum to zero, and each store settles its net with head office
alone: n payments, not n².
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.money import allocate_money
from core.sql import settled_watermark
from coupons.models import Coupon, CouponEvent, CouponTemplateVersion
from loyalty.models import LotConsumption, PointsEntry, PointsLot, RedemptionRule
from wallet.models import WalletEntry

from .models import SettlementLine, SettlementPeriod, SettlementRate

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
DEFAULT_POINTS_PER_YUAN = 100
HEAD_OFFICE = None  # the party with no store
PK = PointsEntry.Kind
WK = WalletEntry.Kind
Kind = SettlementLine.Kind
Funding = CouponTemplateVersion.Funding


def month_start(day):
    return date(day.year, day.month, 1)


def month_start_of(text):
    """ "2026-03" -> date(2026, 3, 1); None for anything else."""
    try:
        year, month = str(text).strip().split("-")[:2]
        return date(int(year), int(month), 1)
    except (ValueError, TypeError):
        return None


def next_month(month):
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def default_month():
    """The month the settlement opens on: the last closed one (the figures to pay), or the
    current month while none is closed."""
    closed = (
        SettlementPeriod.objects.filter(status=SettlementPeriod.Status.CLOSED)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return closed or month_start(timezone.localdate())


def period_bounds(month):
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(month, time.min), tz)
    end = timezone.make_aware(datetime.combine(next_month(month), time.min), tz)
    return start, end


# --- rates -----------------------------------------------------------------------------------


def redemption_value(day):
    """Yuan per point of the redemption rule in force on `day` (the highest priority wins)."""
    rules = (
        RedemptionRule.objects.filter(is_active=True)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=day))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .order_by("-priority", "-id")
    )
    rule = rules.first()
    points = rule.points_per_yuan if rule else DEFAULT_POINTS_PER_YUAN
    return (Decimal(1) / Decimal(points)).quantize(RATE_PLACES)


class Rates:
    """The settlement rate of each day, read once per computation."""

    def __init__(self):
        self._dated = list(
            SettlementRate.objects.order_by("-effective_from").values_list(
                "effective_from", "yuan_per_point"
            )
        )
        self._cache = {}

    def on(self, day):
        if day not in self._cache:
            rate = next((r for since, r in self._dated if since <= day), None)
            self._cache[day] = rate if rate is not None else redemption_value(day)
        return self._cache[day]


def rate_on(day):
    return Rates().on(day)


# --- which rows a period takes in ------------------------------------------------------------


@dataclass
class Window:
    """The rows of a period: dated inside it, plus (for the first open period) rows dated
    before it but written after the last close; never past `upto_*` ids."""

    start: datetime
    end: datetime
    late_consumption_after: int | None = None
    late_wallet_after: int | None = None
    late_coupon_after: int | None = None
    upto_consumption: int | None = None
    upto_wallet: int | None = None
    upto_coupon: int | None = None


def window_for(period, freeze=False):
    """The window of `period`. With `freeze` (a close), the `upto_*` ids are commit-safe
    watermarks (core.sql.settled_watermark): every row up to them is committed before the
    lines are computed, every row written later has a higher id, so each row lands in exactly
    one period: the closing one, or (dated before the next) the first open one, by its id."""
    start, end = period_bounds(period.month)
    last_closed = (
        SettlementPeriod.objects.filter(status=SettlementPeriod.Status.CLOSED)
        .order_by("-month")
        .first()
    )
    window = Window(start, end)
    first_open = (
        SettlementPeriod.objects.filter(status=SettlementPeriod.Status.OPEN)
        .order_by("month")
        .values_list("month", flat=True)
        .first()
    )
    if last_closed is not None and first_open == period.month:
        window.late_consumption_after = last_closed.last_consumption_id or 0
        window.late_wallet_after = last_closed.last_wallet_entry_id or 0
        # Closed before coupon events had a mark: rows dated in the month, as then.
        window.late_coupon_after = last_closed.last_coupon_event_id
    if freeze:
        wait = settings.SETTLEMENT_CLOSE_WAIT_SECONDS
        window.upto_consumption = settled_watermark(LotConsumption, timeout=wait)
        window.upto_wallet = settled_watermark(WalletEntry, timeout=wait)
        window.upto_coupon = settled_watermark(CouponEvent, timeout=wait)
    return window


def _in_window(alias_time, alias_id, late_after, upto, params, window):
    clause = f"({alias_time} >= %s AND {alias_time} < %s"
    params += [window.start, window.end]
    if late_after is not None:
        clause += f" OR ({alias_time} < %s AND {alias_id} > %s)"
        params += [window.start, late_after]
    clause += ")"
    if upto is not None:
        clause += f" AND {alias_id} <= %s"
        params.append(upto)
    return clause


# --- points ----------------------------------------------------------------------------------


_CONSUMPTIONS = f"""
    FROM {LotConsumption._meta.db_table} c
    JOIN {PointsEntry._meta.db_table} ce ON ce.id = c.entry_id
    JOIN {PointsLot._meta.db_table} l ON l.id = c.lot_id
    JOIN {PointsEntry._meta.db_table} le ON le.id = l.entry_id
"""


def _consumption_window(window):
    """(SQL condition on a lot consumption `c` of entry `ce`: the window takes it in, params)."""
    params = []
    where = _in_window(
        "ce.created_at",
        "c.id",
        window.late_consumption_after,
        window.upto_consumption,
        params,
        window,
    )
    return where, params


def points_spent(window):
    """[(payer store id, payee store id, local day, points)]: points issued by the payer (the
    store of the entry that created the lot) and spent in the payee (redemptions, gifts),
    across stores (one grouped query)."""
    where, params = _consumption_window(window)
    sql = f"""
        SELECT le.store_id, ce.store_id, (ce.created_at AT TIME ZONE %s)::date, SUM(c.points)
        {_CONSUMPTIONS}
        WHERE ce.kind IN (%s, %s) AND le.store_id IS DISTINCT FROM ce.store_id AND {where}
        GROUP BY 1, 2, 3
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), PK.REDEEM, PK.GIFT, *params])
        return cursor.fetchall()


def points_given_back(window):
    """[(payer, payee, local day of the spend, points given back, points of the same spend
    and payer given back before)]: what the window's refunds gave back of spent points (a
    `redeem_reversal` consumes lots negatively), between the two stores of the spend each one
    reverses, one row per reversing entry and issuing store. What came back before is counted
    over all time, in the order it came back, so a spend given back over several refunds and
    months is reversed to the cent of what it was booked at (see points_lines)."""
    where, params = _consumption_window(window)
    sql = f"""
        WITH spends AS (
            SELECT DISTINCT ce.reverses_id AS id {_CONSUMPTIONS}
            WHERE ce.kind = %s AND {where}
        ),
        back AS (
            SELECT le.store_id AS payer, oe.store_id AS payee, ce.reverses_id AS spend,
                   (oe.created_at AT TIME ZONE %s)::date AS day, ce.id AS entry,
                   -c.points AS points, {where} AS selected,
                   COALESCE(SUM(-c.points) OVER (
                       PARTITION BY ce.reverses_id, le.store_id ORDER BY c.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
            {_CONSUMPTIONS}
            JOIN {PointsEntry._meta.db_table} oe ON oe.id = ce.reverses_id
            WHERE ce.kind = %s AND ce.reverses_id IN (SELECT id FROM spends)
        )
        SELECT payer, payee, day, SUM(points), MIN(before) FROM back
        WHERE selected AND payer IS DISTINCT FROM payee
        GROUP BY payer, payee, day, spend, entry
    """
    reversal, tz = PK.REDEEM_REVERSAL, timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(sql, [reversal, *params, tz, *params, reversal])
        return cursor.fetchall()


def points_lines(window):
    """Points lines: per (payer, payee, rate of the spend's day), the spends of the window
    rounded to the cent once, less what the window's refunds gave back. A given-back piece is
    priced at the rate of the spend it reverses (not the rate of the refund's day: a rate
    change between them would leave stores owing for nothing), as the difference it makes to
    the spend's rounded value (so the pieces of a spend given back over several refunds add
    up to what the spend was booked at)."""
    rates = Rates()
    points, amounts = defaultdict(int), defaultdict(Decimal)
    for payer, payee, day, spent in points_spent(window):
        points[(payer, payee, rates.on(day))] += int(spent)
    for key, spent in points.items():
        amounts[key] = _cents(spent * key[2])
    for payer, payee, day, back, before in points_given_back(window):
        rate = rates.on(day)
        key = (payer, payee, rate)
        points[key] -= int(back)
        amounts[key] -= _cents((before + back) * rate) - _cents(before * rate)
    return [
        Line(Kind.POINTS, payer, payee, points[key], rate, amounts[key])
        for key in points
        for payer, payee, rate in [key]
        if points[key] or amounts[key]
    ]


# --- stored value ----------------------------------------------------------------------------

DEBIT_SETTLED = {WK.PAYMENT, WK.WITHDRAWAL, WK.TRANSFER_OUT}


def _wallet_rows(window):
    """Every entry of the wallets with a settled debit or a refund in the window, up to the
    window's end, in the order the FIFO replays them: first what each closed period took in,
    period by period, as it took it (so a closed period's payments take the very credits they
    were booked against, whatever was written later with an earlier date), then the rest, each
    group in time order."""
    params = []
    where = _in_window(
        "e.created_at", "e.id", window.late_wallet_after, window.upto_wallet, params, window
    )
    kinds = [*DEBIT_SETTLED, WK.REFUND]
    table = WalletEntry._meta.db_table
    upto = ""
    upto_params = []
    if window.upto_wallet is not None:
        upto, upto_params = " AND a.id <= %s", [window.upto_wallet]
    closed = list(
        SettlementPeriod.objects.filter(
            status=SettlementPeriod.Status.CLOSED, last_wallet_entry_id__isnull=False
        )
        .order_by("month")
        .values_list("month", "last_wallet_entry_id")
    )
    ends = [period_bounds(month)[1] for month, _mark in closed]
    marks = [mark for _month, mark in closed]
    sql = f"""
        SELECT a.wallet_id, a.id, a.kind, a.principal + a.bonus, a.store_id, a.reverses_id,
               a.created_at
        FROM {table} a
        LEFT JOIN LATERAL (
            SELECT min(p.n) AS n FROM unnest(%s::timestamptz[], %s::bigint[])
                WITH ORDINALITY AS p(end_at, mark, n)
            WHERE a.id <= p.mark AND a.created_at < p.end_at
        ) booked ON true
        WHERE a.wallet_id IN (
            SELECT DISTINCT e.wallet_id FROM {table} e
            WHERE e.kind IN ({", ".join(["%s"] * len(kinds))}) AND {where}
        ) AND a.created_at < %s{upto}
        ORDER BY a.wallet_id, booked.n NULLS LAST, a.created_at, a.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [ends, marks, *kinds, *params, window.end, *upto_params])
        yield from cursor


def _selected(window, entry_id, at):
    if window.upto_wallet is not None and entry_id > window.upto_wallet:
        return False
    if window.start <= at < window.end:
        return True
    return (
        window.late_wallet_after is not None
        and at < window.start
        and (entry_id > window.late_wallet_after)
    )


def stored_value_moves(window):
    """{(payer, payee): amount} for stored value, by the FIFO rule in the module docstring."""
    moves = defaultdict(Decimal)
    wallet_id = None
    lots, taken = [], {}
    for wid, entry_id, kind, amount, store_id, reverses_id, at in _wallet_rows(window):
        if wid != wallet_id:
            wallet_id, lots, taken = wid, [], {}
        if not amount:
            continue
        selected = _selected(window, entry_id, at)
        if amount > 0:
            pieces = taken.get(reverses_id) if kind == WK.REFUND else None
            if pieces:
                payee = pieces[0][2]
                weights = [int(piece[1] / CENT) for piece in pieces]
                back = allocate_money(min(amount, sum(p[1] for p in pieces)), weights)
                for piece, share in zip(pieces, back, strict=True):
                    lot, _left, _payee = piece
                    lots[lot][1] += share
                    piece[1] -= share
                    if selected and lots[lot][0] != payee:
                        moves[(lots[lot][0], payee)] -= share
                rest = amount - sum(back)
                if rest > 0:
                    lots.append([store_id, rest])
            else:
                lots.append([store_id, amount])
            continue
        need = -amount
        pieces = []
        for index, lot in enumerate(lots):
            if need <= 0:
                break
            if lot[1] <= 0:
                continue
            take = min(lot[1], need)
            lot[1] -= take
            need -= take
            pieces.append([index, take, store_id])
        if need > 0:  # more out than ever came in: nothing in the data should do this
            lots.append([HEAD_OFFICE, Decimal(0)])
            pieces.append([len(lots) - 1, need, store_id])
        if kind == WK.PAYMENT:
            taken[entry_id] = pieces
        if selected and kind in DEBIT_SETTLED:
            for index, take, payee in pieces:
                if lots[index][0] != payee:
                    moves[(lots[index][0], payee)] += take
    return moves


def stored_value_lines(window):
    return [
        Line(Kind.STORED_VALUE, payer, payee, 0, None, amount)
        for (payer, payee), amount in stored_value_moves(window).items()
        if amount
    ]


# --- coupons -------------------------------------------------------------------------------


def coupon_moves(window):
    """{(payer, payee): amount}: the coupon discounts head office funds (all of them, or its
    part of a split) that the accepting store gave at the till, net of the discounts a whole
    refund undid (the coupon given back, or kept used by its terms: a reversing amount in the
    refund's period). A store-funded coupon is the store's own cost: no line. One grouped
    query over the coupon ledger."""
    params = []
    where = _in_window(
        "e.created_at", "e.id", window.late_coupon_after, window.upto_coupon, params, window
    )
    funded = (
        f"CASE v.funding WHEN '{Funding.HEAD_OFFICE}' THEN 1 "
        f"WHEN '{Funding.SPLIT}' THEN 1 - v.store_share_percent / 100 ELSE 0 END"
    )
    sql = f"""
        SELECT e.store_id,
               SUM(CASE e.kind WHEN %s THEN 1 ELSE -1 END * e.discount * {funded})
        FROM {CouponEvent._meta.db_table} e
        JOIN {Coupon._meta.db_table} c ON c.id = e.coupon_id
        JOIN {CouponTemplateVersion._meta.db_table} v ON v.id = c.version_id
        WHERE e.kind IN (%s, %s, %s) AND e.store_id IS NOT NULL AND {where}
        GROUP BY e.store_id
    """
    used = CouponEvent.Kind.USED
    undone = [CouponEvent.Kind.RETURNED, CouponEvent.Kind.REFUNDED]
    with connection.cursor() as cursor:
        cursor.execute(sql, [used, used, *undone, *params])
        return {(HEAD_OFFICE, store): _cents(amount) for store, amount in cursor.fetchall()}


def coupon_lines(window):
    return [
        Line(Kind.COUPON, payer, payee, 0, None, amount)
        for (payer, payee), amount in coupon_moves(window).items()
        if amount
    ]


# --- a period's lines, net positions, clearing -----------------------------------------------


@dataclass
class Line:
    kind: str
    payer: int | None
    payee: int | None
    points: int
    rate: Decimal | None
    amount: Decimal


# The kinds of value settled between stores, each a function of a Window returning Lines.
SOURCES = [points_lines, stored_value_lines, coupon_lines]


def compute_lines(window):
    lines = []
    for source in SOURCES:
        lines.extend(source(window))
    return lines


def _cents(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Position:
    store_id: int | None
    receivable: Decimal = Decimal("0.00")
    payable: Decimal = Decimal("0.00")
    by_kind: dict = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def net(self):
        return self.receivable - self.payable


def positions(lines):
    """{party: Position}: what each party is owed and owes. The nets sum to zero."""
    out = {}
    for line in lines:
        payer = out.setdefault(line.payer, Position(line.payer))
        payee = out.setdefault(line.payee, Position(line.payee))
        payer.payable += line.amount
        payer.by_kind[line.kind] -= line.amount
        payee.receivable += line.amount
        payee.by_kind[line.kind] += line.amount
    return out


def clearing(position_map):
    """[(store id, amount)]: head office pays each store with a positive net position its net,
    and is paid by each store with a negative one (n payments, not n²). Head office's own
    position is what the clearing leaves with it: minus the sum of the stores' nets."""
    return [
        (store_id, position.net)
        for store_id, position in sorted(position_map.items(), key=lambda kv: kv[0] or 0)
        if store_id is not HEAD_OFFICE and position.net
    ]


def matrix(lines, kind=None):
    """{(payer, payee): amount} summed over rates (and over kinds unless `kind`)."""
    out = defaultdict(Decimal)
    for line in lines:
        if kind is None or line.kind == kind:
            out[(line.payer, line.payee)] += line.amount
    return out


def stored_lines(period):
    return [
        Line(row.kind, row.payer_id, row.payee_id, row.points, row.rate, row.amount)
        for row in SettlementLine.objects.filter(period=period)
    ]
