"""The one writer of the points ledger.

Every points service (sales, refunds, adjustments, bonuses, imports, gifts) ends in
`post_points_entry`, or in `add_sale_points` for the checkout; nothing else inserts into
PointsEntry, PointsLot or LotConsumption or changes a PointsAccount balance (a test walks the
code for other writers; the database refuses UPDATE and DELETE of entries). The set-based
expiry path and the bulk opening of accounts live here too, for the same reason.

Invariant kept here: balance == SUM(entries.points), and SUM(lots.remaining) == max(balance, 0).
"""

import functools
from dataclasses import dataclass
from datetime import datetime, time

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Max, Min, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from core.sql import (
    default_columns,
    insert_select,
    insert_sql,
    load,
    lock_clause,
    select_list,
    update_sql,
    upsert_add_sql,
)

from .exceptions import ExpiryAlreadyRunning, InsufficientPoints, PointsOutOfRange
from .models import LotConsumption, PointsAccount, PointsEntry, PointsLot, TierProgress

Kind = PointsEntry.Kind

# Which lifetime counter a kind moves. Reversals move the counter of what they reverse back.
EARNING_KINDS = {Kind.OPENING, Kind.EARN, Kind.BONUS}
SPENDING_KINDS = {Kind.REDEEM, Kind.GIFT, Kind.COUPON}
_DEC = models.DecimalField(max_digits=14, decimal_places=2)
# What the balance and the lifetime counters hold (PostgreSQL integer). A movement that would
# carry one past it is refused as bad input instead of failing in the database (a 500).
MAX_POINTS = 2_147_483_647


def _check_range(account, points):
    balance = account.balance + points
    counters = (account.lifetime_earned, account.qualifying_points) if points > 0 else ()
    if not -MAX_POINTS <= balance <= MAX_POINTS or any(c + points > MAX_POINTS for c in counters):
        raise PointsOutOfRange.beyond(MAX_POINTS)


def open_account(member):
    """The member's points account, created empty if it does not exist yet."""
    account, _ = PointsAccount.objects.get_or_create(member=member)
    return account


def lock_account(member_id):
    """Lock a member's points account row for the rest of the transaction.

    The lock serializes every write to one member's points (two tills redeeming at once), so
    the balance check and the lot updates below see the committed state of the other writer.
    """
    return PointsAccount.objects.select_for_update().get(member_id=member_id)


def _open_lots(account, lot_ids=None, at=None, prefer_lot_ids=(), include_due=False, need=None):
    # First to expire, first spent; never-expiring lots last. Locked after the account (fixed
    # order: account, then lots) so expiry and spending cannot deadlock. A lot past its expiry
    # is not spendable even before the nightly job has zeroed it; naming `lot_ids` (expiry,
    # corrections) reaches such lots on purpose, and so does a clawback (`include_due`): points
    # a refund takes back come out of the lots that still hold them, due or not, or the nightly
    # job would expire the same points a second time.
    # Hand-written: every redemption at a till runs this.
    where, params = ["l.account_id = %s", "l.remaining > 0"], [account.pk]
    if lot_ids is not None:
        lot_ids = list(lot_ids) or [None]
        where.append(f"l.id IN ({', '.join(['%s'] * len(lot_ids))})")
        params.extend(lot_ids)
    elif not include_due:
        where.append("(l.expires_at IS NULL OR l.expires_at > %s)")
        params.append(connection.ops.adapt_datetimefield_value(at or timezone.now()))
    lock = lock_clause()
    table = f'"{PointsLot._meta.db_table}"'
    order = "l.expires_at ASC NULLS LAST, l.earned_at, l.id"
    if need is not None:
        # A regular shopper holds a lot per visit: read (and lock) only the first lots that
        # cover `need`, not all of them. All of them, if they do not cover it.
        where = [
            "l.id IN (SELECT id FROM (SELECT l.id, SUM(l.remaining) OVER "
            f"(ORDER BY {order} ROWS UNBOUNDED PRECEDING) - l.remaining AS before "
            f"FROM {table} l WHERE {' AND '.join(where)}) w WHERE w.before < %s)"
        ]
        params.append(need)
    sql = (
        f"SELECT {select_list(PointsLot, 'l')} FROM {table} l "
        f"WHERE {' AND '.join(where)} ORDER BY {order}{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        lots = [load(PointsLot, row) for row in cursor.fetchall()]
    if prefer_lot_ids:
        lots.sort(key=lambda lot: lot.id not in prefer_lot_ids)  # stable: FEFO within each
    return lots


@transaction.atomic
def post_points_entry(
    *,
    member,
    points: int,
    kind: str,
    source: str,
    actor=None,
    store=None,
    terminal=None,
    reason: str = "",
    reference: str = "",
    key: str | None = None,
    expires_at=None,
    reverses: PointsEntry | None = None,
    allow_negative: bool = False,
    lot_ids=None,
    at=None,
    prefer_lot_ids=(),
) -> PointsEntry:
    """Write one points entry, move lots and the balance, under the account's row lock.

    - points > 0 adds a lot expiring at `expires_at` (None: never), or, with `reverses`, gives
      the points back to exactly the lots that spend took. A negative balance (debt) is paid
      first, so lots only ever hold what the member can spend.
    - points < 0 takes from lots first-to-expire-first (or only from `lot_ids`), recording
      which (lots in `prefer_lot_ids` first: a refund takes back the sale's own lot). It
      raises InsufficientPoints if the balance does not cover it, unless
      `allow_negative` (a refund taking back points already spent: the debt is then open).
    - `key` makes the write idempotent: a second call with the same key returns the first
      entry and changes nothing.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValueError("points must be a non-zero int")
    account = lock_account(member.pk)
    if key:
        # Checked under the account lock, so two retries of the same write serialize here;
        # the unique constraint on `key` is the backstop.
        existing = PointsEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing

    at = at or timezone.now()
    _check_range(account, points)
    old_balance = account.balance
    entry = PointsEntry.objects.create(
        account=account,
        kind=kind,
        points=points,
        balance_after=old_balance + points,
        store=store,
        terminal=terminal,
        actor=actor,
        source=source,
        reason=reason[:200],
        reference=reference[:100],
        key=key or None,
        reverses=reverses,
        created_at=at,
    )
    if points > 0:
        # Debt (a negative balance) is paid before anything lands in a lot.
        to_lots = points - min(points, max(-old_balance, 0))
        if to_lots:
            if reverses is not None:
                _give_back(entry, reverses, to_lots)
            else:
                PointsLot.objects.create(
                    account=account,
                    entry=entry,
                    points=to_lots,
                    remaining=to_lots,
                    earned_at=at,
                    expires_at=expires_at,
                )
    else:
        _take(entry, account, -points, allow_negative, lot_ids, at, prefer_lot_ids)

    account.balance = old_balance + points
    fields = ["balance", "updated_at"]
    counter = _counter_change(kind, points, reverses)
    if counter:
        name, change = counter
        setattr(account, name, max(getattr(account, name) + change, 0))
        fields.append(name)
    account.save(update_fields=fields)
    return entry


# --- Sales and expiry: the hot paths, written with as few statements as the rules allow. ----


def add_sale_points(
    statement,
    *,
    account,
    store,
    receipt_no: str,
    redeem: int,
    earn: int,
    expires_at,
    spend,
    source: str,
    actor=None,
    terminal=None,
    at=None,
):
    """Add the points side of a checkout to `statement` (core.sql.Statement): redeem `redeem`
    and earn `earn` points on an account the caller has already locked, and move the tier
    progress (`spend` yuan and the points earned) on the account and in this month's bucket.

    The same rules as `post_points_entry` (FEFO, debt paid first, lifetime counters). The sale
    itself is written by the caller in the same statement: this is the checkout, the hottest
    write of the product, and one round trip is what it costs. Reads `expression("redeem")` /
    `expression("earn")` give the new entries' ids to the caller's parts.
    Returns a SalePoints whose entries carry their ids once the statement has run.
    """
    at = at or timezone.now()
    balance = account.balance
    if redeem and redeem > balance:
        raise InsufficientPoints.of(balance=balance, wanted=redeem)
    if earn:
        _check_range(account, earn - redeem)
    entries = []
    running = balance
    for kind, points in ((Kind.REDEEM, -redeem), (Kind.EARN, earn)):
        if points:
            running += points
            entries.append(
                PointsEntry(
                    account=account,
                    kind=kind,
                    points=points,
                    balance_after=running,
                    store=store,
                    terminal=terminal,
                    actor=actor,
                    source=source,
                    reference=receipt_no[:100],
                    key=sale_entry_key(store.pk, receipt_no, kind),
                    created_at=at,
                )
            )
    result = SalePoints(
        redeem_entry=entries[0] if redeem else None, earn_entry=entries[-1] if earn else None
    )
    to_lots = earn - min(earn, max(-(balance - redeem), 0)) if earn else 0
    moves = _plan_take(account, redeem, at) if redeem else []
    account.balance = running
    account.lifetime_redeemed += redeem
    account.lifetime_earned += earn
    account.qualifying_spend += spend
    account.qualifying_points += earn
    account.updated_at = timezone.now()

    if entries:
        sql, values = insert_sql(PointsEntry, entries, returning="id, kind")
        statement.add("points_entries", sql, values)
        for entry in entries:
            statement.select(result.expression(entry.kind), _receive_pk(entry))
    if to_lots:
        lot = PointsLot(
            account=account, points=to_lots, remaining=to_lots, earned_at=at, expires_at=expires_at
        )
        sql, values = insert_sql(
            PointsLot, [lot], expressions={"entry_id": result.expression(Kind.EARN)}
        )
        statement.add("points_lot", sql, values)
    if moves:
        rows = ", ".join(["(%s::bigint, %s::integer)"] * len(moves))
        statement.add(
            "points_moved",
            f'UPDATE "{PointsLot._meta.db_table}" lot SET remaining = lot.remaining - m.taken '
            f"FROM (VALUES {rows}) m(id, taken) WHERE lot.id = m.id",
            [v for lot_, taken in moves for v in (lot_.pk, taken)],
        )
        consumptions = [LotConsumption(lot=lot_, points=taken) for lot_, taken in moves]
        sql, values = insert_sql(
            LotConsumption,
            consumptions,
            expressions={"entry_id": result.expression(Kind.REDEEM)},
        )
        statement.add("points_consumed", sql, values)
    counters = [
        "balance",
        "lifetime_redeemed",
        "lifetime_earned",
        "qualifying_spend",
        "qualifying_points",
        "updated_at",
    ]
    sql, values = update_sql(
        PointsAccount, account.pk, {name: getattr(account, name) for name in counters}
    )
    statement.add("points_account", sql, values)
    if spend or earn:
        sql, values = upsert_add_sql(
            TierProgress,
            {"account": account.pk, "month": progress_month(at)},
            {"spend": spend, "points": earn},
        )
        statement.add("points_progress", sql, values)
    return result


@dataclass
class SalePoints:
    """The entries a checkout writes; `expression(kind)` is the SQL that names an entry's id
    inside the checkout statement (NULL when the sale wrote no such entry)."""

    redeem_entry: PointsEntry | None
    earn_entry: PointsEntry | None

    def expression(self, kind):
        if (kind == Kind.REDEEM and self.redeem_entry is None) or (
            kind == Kind.EARN and self.earn_entry is None
        ):
            return "NULL::bigint"
        return f"(SELECT id FROM points_entries WHERE kind = '{kind}')"


def _receive_pk(instance):
    def receive(pk):
        instance.pk = pk
        instance._state.adding = False

    return receive


def sale_entry_key(store_id, receipt_no, kind):
    """The ledger key of a checkout's redeem or earn entry: a retried sale cannot post twice
    (the receipt number is unique per store)."""
    return f"sale:{store_id}:{receipt_no}:{kind}"


def progress_month(at):
    """The first day of the Shanghai month of `at`: the tier progress bucket it counts in."""
    return timezone.localtime(at).date().replace(day=1)


def _plan_take(account, need, at):
    """[(lot, taken)] for spending `need` points first-to-expire-first (lots locked here, after
    the account); the lots' `remaining` are moved in memory, not yet written."""
    return _spread(_open_lots(account, at=at, need=need), need, allow_negative=False)


def _spread(lots, need, allow_negative):
    available = sum(lot.remaining for lot in lots)
    if need > available and not allow_negative:
        raise InsufficientPoints.of(balance=available, wanted=need)
    moves, left = [], need
    for lot in lots:
        if not left:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
        moves.append((lot, taken))
    # `left` (if any) is the open debt: the balance goes negative, no lot backs it.
    return moves


def set_referral_paid(*, member_id, paid):
    """Mark whether the member's referral bonus stands paid (the caller holds the lock)."""
    PointsAccount.objects.filter(member_id=member_id).update(referral_paid=paid)


def move_tier_progress(*, account, spend, points, at=None):
    """Move tier progress by `spend` yuan and `points` (negative: a refund takes them off):
    the lifetime counters (never below zero) and the bucket of the month of `at`."""
    PointsAccount.objects.filter(pk=account.pk).update(
        qualifying_spend=Greatest(F("qualifying_spend") + spend, Value(0), output_field=_DEC),
        qualifying_points=Greatest(F("qualifying_points") + points, Value(0)),
    )
    if spend or points:
        sql, params = upsert_add_sql(
            TierProgress,
            {"account": account.pk, "month": progress_month(at or timezone.now())},
            {"spend": spend, "points": points},
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


EXPIRY_LOCK_ID = 0x10_7A17  # pg advisory lock id: one expiry run at a time, chain-wide


def expiry_cutoff(as_of=None):
    """`as_of` a date: the local midnight that starts it (the nightly run on 1 January expires
    what expired at 00:00 that day); a datetime: that instant; None: now."""
    if as_of is None:
        return timezone.now()
    if isinstance(as_of, datetime):
        return as_of
    return timezone.make_aware(datetime.combine(as_of, time()))


def expire_points(*, as_of=None, source, actor=None, chunk_size=1000, workers=None) -> dict:
    """Expire what is left in every lot whose expiry is at or before `as_of`.

    Set-based per chunk of accounts (by id range, one short transaction each, so a till waits
    at most for one chunk): lock the chunk's accounts, then their due lots, zero the lots,
    insert one EXPIRE entry per lot and move the balances, in one statement on PostgreSQL.
    Every entry carries the key `expire:<lot>:<day>`, so a rerun as of the same day writes
    nothing. A PostgreSQL advisory lock allows one run at a time (ExpiryAlreadyRunning).
    `workers` (default settings.EXPIRY_WORKERS) threads take chunks side by side, each on its
    own connection; the chunks are disjoint id ranges and each locks its accounts in
    ascending id order, so they never wait for one another, and a till (which locks one
    account, or a member and their referrer in id order) waits for one chunk at most.
    Inside a caller's transaction (tests) the chunks run one by one on its connection.
    Returns {"lots": n, "points": n, "accounts": n}.
    """
    from django.conf import settings

    workers = workers or settings.EXPIRY_WORKERS
    if connection.in_atomic_block:
        workers = 1
    cutoff = expiry_cutoff(as_of)
    day = timezone.localtime(cutoff).date().isoformat()
    totals = {"lots": 0, "points": 0, "accounts": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [EXPIRY_LOCK_ID])
        if not cursor.fetchone()[0]:
            raise ExpiryAlreadyRunning()
    try:
        bounds = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=cutoff).aggregate(
            lo=Min("account_id"), hi=Max("account_id")
        )
        if bounds["lo"] is None:
            return totals
        starts = iter(range(bounds["lo"], bounds["hi"] + 1, chunk_size))
        _run_chunks(starts, workers, totals, chunk_size, cutoff, day, source, actor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [EXPIRY_LOCK_ID])
    return totals


def _run_chunks(starts, workers, totals, chunk_size, cutoff, day, source, actor):
    import threading

    from django.db import connections

    guard, errors = threading.Lock(), []

    def work():
        while not errors:
            with guard:
                lo = next(starts, None)
            if lo is None:
                return
            lots, points, accounts = _expire_chunk(lo, lo + chunk_size, cutoff, day, source, actor)
            with guard:
                totals["lots"] += lots
                totals["points"] += points
                totals["accounts"] += accounts

    def thread_work():
        try:
            work()
        except BaseException as exc:  # noqa: B036  (re-raised by the caller's thread)
            errors.append(exc)
        finally:
            connections.close_all()

    if workers <= 1:
        return work()
    threads = [threading.Thread(target=thread_work, name=f"expiry-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@transaction.atomic
def _expire_chunk(lo, hi, cutoff, day, source, actor):
    params = {
        "lo": lo,
        "hi": hi,
        "cutoff": cutoff,
        "day": day,
        "source": source,
        "actor": actor.pk if actor else None,
        "now": timezone.now(),
        **{f"default_{column}": value for column, value in _expire_defaults()},
    }
    with connection.cursor() as cursor:
        # Accounts first, in id order, as every points writer does: no deadlock with a till.
        # No separate lot lock: every writer of lots holds the account lock, so the UPDATE
        # below is the only change these lots can see (and a write per lot is saved).
        cursor.execute(_lock_chunk_sql(), params)
        if not cursor.fetchall():
            return 0, 0, 0
        try:
            with transaction.atomic():
                cursor.execute(_expire_sql(guard=False), params)
                return _chunk_totals(cursor)
        except IntegrityError:
            # A lot expired earlier today and then refilled by a refund's give-back: its key
            # is taken. Rare; redo the chunk leaving such lots to tomorrow's run.
            cursor.execute(_expire_sql(guard=True), params)
            return _chunk_totals(cursor)


def _chunk_totals(cursor):
    lots, points, accounts = cursor.fetchone()
    return lots, int(points), accounts


def _col(model, name):
    return f'"{model._meta.get_field(name).column}"'


def _table(model):
    return f'"{model._meta.db_table}"'


@functools.cache
def _lock_chunk_sql():
    account, lot = PointsAccount, PointsLot
    return f"""
        SELECT a.id FROM {_table(account)} a
        WHERE a.id >= %(lo)s AND a.id < %(hi)s AND EXISTS (
            SELECT 1 FROM {_table(lot)} l WHERE l.{_col(lot, "account")} = a.id
            AND l.{_col(lot, "remaining")} > 0 AND l.{_col(lot, "expires_at")} <= %(cutoff)s)
        ORDER BY a.id FOR UPDATE
    """


# The columns an expiry entry sets; every other column of the entry gets its default, so a
# field added to PointsEntry later needs no change here.
_EXPIRE_ENTRY = {
    "account": "z.account_id",
    "kind": f"'{Kind.EXPIRE.value}'",
    "points": "-z.remaining",
    "balance_after": "acc.before - SUM(z.remaining) OVER (PARTITION BY z.account_id ORDER BY z.id)",
    "source": "%(source)s",
    "actor": "%(actor)s",
    "reason": "''",
    "reference": "'lot:' || z.id",
    "key": "'expire:' || z.id || ':' || %(day)s",
    "created_at": "%(now)s",
}


@functools.cache
def _expire_sql(guard):
    """One statement per chunk: zero the due lots, move the balances, insert one entry per lot
    with its running balance_after and the key `expire:<lot>:<day>`. With `guard`, lots that
    already have today's expiry entry are left alone."""
    account, lot, entry = PointsAccount, PointsLot, PointsEntry
    defaults = _expire_defaults()
    columns = [_col(entry, name) for name in _EXPIRE_ENTRY] + [f'"{c}"' for c, _ in defaults]
    values = list(_EXPIRE_ENTRY.values()) + [f"%(default_{c})s" for c, _ in defaults]
    skip = (
        f"AND NOT EXISTS (SELECT 1 FROM {_table(entry)} e "
        f"WHERE e.{_col(entry, 'key')} = 'expire:' || l.id || ':' || %(day)s)"
        if guard
        else ""
    )
    remaining, account_id = _col(lot, "remaining"), _col(lot, "account")
    return f"""
        WITH due AS (
            SELECT l.id, l.{account_id} AS account_id, l.{remaining} AS remaining
            FROM {_table(lot)} l
            WHERE l.{account_id} >= %(lo)s AND l.{account_id} < %(hi)s
              AND l.{remaining} > 0 AND l.{_col(lot, "expires_at")} <= %(cutoff)s {skip}
        ),
        zeroed AS (
            UPDATE {_table(lot)} l SET {remaining} = 0 FROM due WHERE l.id = due.id
            RETURNING due.id, due.account_id, due.remaining
        ),
        per_account AS (
            SELECT account_id, SUM(remaining) AS total FROM zeroed GROUP BY account_id
        ),
        accounts AS (
            UPDATE {_table(account)} a
            SET {_col(account, "balance")} = a.{_col(account, "balance")} - p.total,
                {_col(account, "lifetime_expired")} =
                    a.{_col(account, "lifetime_expired")} + p.total,
                {_col(account, "updated_at")} = %(now)s
            FROM per_account p WHERE a.id = p.account_id
            RETURNING a.id, a.{_col(account, "balance")} + p.total AS before
        ),
        inserted AS (
            INSERT INTO {_table(entry)} ({", ".join(columns)})
            SELECT {", ".join(values)}
            FROM zeroed z JOIN accounts acc ON acc.id = z.account_id
            RETURNING {_col(entry, "points")}
        )
        SELECT COUNT(*), COALESCE(-SUM({_col(entry, "points")}), 0),
               (SELECT COUNT(*) FROM accounts)
        FROM inserted
    """


def _expire_defaults():
    """(column, value) of the entry columns expiry leaves at their defaults."""
    given = {PointsEntry._meta.get_field(name).column for name in _EXPIRE_ENTRY}
    return default_columns(PointsEntry, given)


def expire_lots_one_by_one(*, cutoff, day, source, actor=None, limit=None) -> dict:
    """The per-lot path: one transaction and one `post_points_entry` per due lot. The
    benchmark's naive baseline only (benchmarks/expiry.py); `expire_points` is the product's."""
    totals = {"lots": 0, "points": 0, "accounts": 0}
    due = (
        PointsLot.objects.filter(remaining__gt=0, expires_at__lte=cutoff)
        .select_related("account__member")
        .order_by("account_id", "id")
    )
    if limit:
        due = due[:limit]
    seen = set()
    for lot in due.iterator(chunk_size=2000):
        key = f"expire:{lot.pk}:{day}"
        with transaction.atomic():
            lot.refresh_from_db(fields=["remaining"])
            if not lot.remaining or PointsEntry.objects.filter(key=key).exists():
                continue
            post_points_entry(
                member=lot.account.member,
                points=-lot.remaining,
                kind=Kind.EXPIRE,
                source=source,
                actor=actor,
                reference=f"lot:{lot.pk}",
                key=key,
                lot_ids=[lot.pk],
            )
        totals["lots"] += 1
        totals["points"] += lot.remaining
        seen.add(lot.account_id)
    totals["accounts"] = len(seen)
    return totals


# --- end of sales and expiry ---------------------------------------------------------------


def _counter_change(kind, points, reverses):
    if kind in EARNING_KINDS:
        return "lifetime_earned", points
    if kind == Kind.ADJUST and points > 0:
        return "lifetime_earned", points
    if kind in SPENDING_KINDS:
        return "lifetime_redeemed", -points
    if kind == Kind.EXPIRE:
        return "lifetime_expired", -points
    if kind in (Kind.EARN_REVERSAL, Kind.BONUS_REVERSAL):
        return "lifetime_earned", points
    if kind == Kind.REDEEM_REVERSAL:
        return "lifetime_redeemed", -points
    return None


def _take(entry, account, need, allow_negative, lot_ids, at=None, prefer_lot_ids=()):
    lots = _open_lots(
        account,
        lot_ids,
        at,
        prefer_lot_ids,
        include_due=allow_negative,
        need=None if lot_ids is not None or prefer_lot_ids or allow_negative else need,
    )
    moves = _spread(lots, need, allow_negative)
    if moves:
        _save_lot_moves(
            entry,
            [lot for lot, _taken in moves],
            [LotConsumption(entry=entry, lot=lot, points=taken) for lot, taken in moves],
        )


def _save_lot_moves(entry, lots, consumptions):
    """Write new lot remainders and their consumption rows in one statement."""
    values = ", ".join(["(%s::bigint, %s::integer)"] * len(consumptions))
    params = [p for c in consumptions for p in (c.lot.id, c.points)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH moves(id, taken) AS (VALUES {values}),
            updated AS (
                UPDATE loyalty_pointslot lot SET remaining = lot.remaining - moves.taken
                FROM moves WHERE lot.id = moves.id
                RETURNING lot.id, moves.taken
            )
            INSERT INTO loyalty_lotconsumption (entry_id, lot_id, points)
            SELECT %s, id, taken FROM updated
            """,
            [*params, entry.id],
        )


def _give_back(entry, spend, amount):
    """Return `amount` points to the lots `spend` took them from, in the order it took them."""
    outstanding = {}  # insertion order = the order the spend took the lots
    taken_rows = LotConsumption.objects.filter(entry=spend).order_by("id")
    for lot_id, taken in taken_rows.values_list("lot_id", "points"):
        outstanding[lot_id] = outstanding.get(lot_id, 0) + taken
    given = LotConsumption.objects.filter(entry__reverses=spend).values_list("lot_id", "points")
    for lot_id, points in given:
        outstanding[lot_id] = outstanding.get(lot_id, 0) + points  # give-backs are negative
    lots = {
        lot.id: lot
        for lot in PointsLot.objects.select_for_update()
        .filter(id__in=[lot_id for lot_id, left in outstanding.items() if left > 0])
        .order_by("id")
    }
    consumptions, changed, left = [], [], amount
    for lot_id in (lot_id for lot_id in outstanding if lot_id in lots):
        if not left:
            break
        back = min(outstanding[lot_id], left)
        lot = lots[lot_id]
        lot.remaining += back
        left -= back
        changed.append(lot)
        consumptions.append(LotConsumption(entry=entry, lot=lot, points=-back))
    if left:
        raise ValueError(
            f"cannot give back {amount} points: the spend has only "
            f"{amount - left} left to give back"
        )
    PointsLot.objects.bulk_update(changed, ["remaining"])
    LotConsumption.objects.bulk_create(consumptions)


# --------------------------------------------------------------------------- bulk opening


def bulk_post_opening_points(*, items, source, actor=None, reason="", at=None) -> int:
    """Open points accounts for new members and post their opening points, set-based.

    `items`: iterable of (member_id, points, expires_at, store_id, reference). Only members
    without a points account are touched (the account is created here, with an OPENING entry
    and a lot when points > 0), so a rerun adds nothing. Returns the number of entries posted.
    COPY into a temporary table, then one INSERT per table.
    """
    from django.db import connection

    from loyalty.services.rules import expires_at_for  # rules import this module

    at = at or timezone.now()
    actor_id = getattr(actor, "pk", actor)
    # A row without its own expiry date gets the policy's date as of the import, like points
    # earned today: migrated points must expire like earned ones.
    default_expiry = expires_at_for(at)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _opening_points (member_id bigint, "
            "points integer, expires_at timestamptz, store_id bigint, reference text) "
            "ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE _opening_points")
        with cursor.copy(
            "COPY _opening_points (member_id, points, expires_at, store_id, reference) FROM STDIN"
        ) as copy:
            for item in items:
                copy.write_row(item)
        account_given = {"member_id", "balance", "lifetime_earned"}
        account_other = default_columns(PointsAccount, account_given)
        entry_given = {
            "account_id", "kind", "points", "balance_after", "store_id", "actor_id",
            "source", "reason", "reference", "key", "created_at",
        }  # fmt: skip
        entry_other = default_columns(PointsEntry, entry_given)
        lot_given = {"account_id", "entry_id", "points", "remaining", "earned_at", "expires_at"}
        lot_other = default_columns(PointsLot, lot_given)

        def cols(other):
            return "".join(f", {column}" for column, _ in other)

        def vals(other):
            return "".join(", %s" for _ in other)

        cursor.execute(
            f"""
                WITH acc AS (
                    INSERT INTO {PointsAccount._meta.db_table}
                        (member_id, balance, lifetime_earned{cols(account_other)})
                    SELECT t.member_id, t.points, t.points{vals(account_other)}
                    FROM _opening_points t
                    ON CONFLICT (member_id) DO NOTHING
                    RETURNING id, member_id
                ), ent AS (
                    INSERT INTO {PointsEntry._meta.db_table}
                        (account_id, kind, points, balance_after, store_id, actor_id, source,
                         reason, reference, key, created_at{cols(entry_other)})
                    SELECT acc.id, %s, t.points, t.points, t.store_id, %s, %s, %s,
                           left(t.reference, 100), 'opening:points:' || t.member_id,
                           %s{vals(entry_other)}
                    FROM acc JOIN _opening_points t ON t.member_id = acc.member_id
                    WHERE t.points > 0
                    RETURNING id, account_id, points
                )
                INSERT INTO {PointsLot._meta.db_table}
                    (account_id, entry_id, points, remaining, earned_at, expires_at
                     {cols(lot_other)})
                SELECT ent.account_id, ent.id, ent.points, ent.points, %s,
                       COALESCE(t.expires_at, %s){vals(lot_other)}
                FROM ent JOIN acc ON acc.id = ent.account_id
                     JOIN _opening_points t ON t.member_id = acc.member_id
                """,
            [value for _, value in account_other]
            + [Kind.OPENING, actor_id, source, reason[:200], at]
            + [value for _, value in entry_other]
            + [at, default_expiry]
            + [value for _, value in lot_other],
        )
        return cursor.rowcount


# --------------------------------------------------------------------------- bulk earning


def bulk_post_points(*, rows, kind, source, actor=None, at=None, expires_at=None) -> int:
    """Post many positive entries of an earning `kind` (bonus, opening) at once, set-based.

    `rows`: iterable of (member_id, points, key, reason, reference, store_id); every member has
    a points account already. The same rules as `post_points_entry`: a row whose `key` is
    already in the ledger is skipped (a rerun posts nothing twice), a debt is paid before
    anything lands in a lot, the lot expires at `expires_at`, the lifetime earned counter
    moves. The accounts are locked first, in ascending id order like every points writer, so
    this cannot deadlock with a till or the expiry run. Returns how many entries were posted.
    """
    if kind not in EARNING_KINDS:
        raise ValueError(f"bulk_post_points posts earnings only, not {kind}")
    at = at or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _bulk_points (ord bigint, member_id bigint, "
            "points integer, key text, reason text, reference text, store_id bigint) "
            "ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE _bulk_points")
        with cursor.copy(
            "COPY _bulk_points (ord, member_id, points, key, reason, reference, store_id) "
            "FROM STDIN"
        ) as copy:
            for ord_, row in enumerate(rows):
                copy.write_row((ord_, *row))
        cursor.execute(_bulk_lock_sql())
        params = {
            "kind": kind,
            "source": source,
            "actor": getattr(actor, "pk", actor),
            "at": at,
            "expires_at": expires_at,
        }
        sql, defaults = _bulk_points_sql()
        cursor.execute(sql, {**params, **defaults(), **_lot_defaults()})
        return cursor.fetchone()[0]


@functools.cache
def _bulk_lock_sql():
    account = PointsAccount
    return (
        f"SELECT a.id FROM {_table(account)} a "
        f"WHERE a.{_col(account, 'member')} IN (SELECT member_id FROM _bulk_points) "
        "ORDER BY a.id FOR UPDATE"
    )


def _lot_defaults():
    given = {"account", "entry", "points", "remaining", "earned_at", "expires_at"}
    return insert_select(PointsLot, {name: "NULL" for name in given})[3]


@functools.cache
def _bulk_points_sql():
    account, entry, lot = PointsAccount, PointsEntry, PointsLot
    balance, member = _col(account, "balance"), _col(account, "member")
    entry_table, entry_columns, entry_values, _d = insert_select(
        entry,
        {
            "account": "t.account_id",
            "kind": "%(kind)s",
            "points": "t.points",
            "balance_after": "t.before + t.points",
            "store": "t.store_id",
            "actor": "%(actor)s",
            "source": "%(source)s",
            "reason": "left(t.reason, 200)",
            "reference": "left(t.reference, 100)",
            "key": "t.key",
            "created_at": "%(at)s",
        },
    )
    lot_table, lot_columns, lot_values, _l = insert_select(
        lot,
        {
            "account": "e.account_id",
            "entry": "e.id",
            "points": f"LEAST(e.{_col(entry, 'points')}, e.{_col(entry, 'balance_after')})",
            "remaining": f"LEAST(e.{_col(entry, 'points')}, e.{_col(entry, 'balance_after')})",
            "earned_at": "%(at)s",
            "expires_at": "%(expires_at)s",
        },
    )
    entry_id, entry_account = "id", _col(entry, "account")
    sql = f"""
        WITH t AS (
            SELECT b.ord, a.id AS account_id, b.points, b.key, b.reason, b.reference,
                   b.store_id,
                   a.{balance} + SUM(b.points) OVER (PARTITION BY a.id ORDER BY b.ord)
                       - b.points AS before
            FROM _bulk_points b JOIN {_table(account)} a ON a.{member} = b.member_id
            WHERE b.points > 0 AND NOT EXISTS (
                SELECT 1 FROM {entry_table} x WHERE x.{_col(entry, "key")} = b.key)
        ), e AS (
            INSERT INTO {entry_table} ({entry_columns})
            SELECT {entry_values} FROM t ORDER BY t.account_id, t.ord
            RETURNING {entry_id}, {entry_account} AS account_id, {_col(entry, "points")},
                      {_col(entry, "balance_after")}
        ), lots AS (
            INSERT INTO {lot_table} ({lot_columns})
            SELECT {lot_values} FROM e WHERE e.{_col(entry, "balance_after")} > 0
        ), moved AS (
            UPDATE {_table(account)} a
            SET {balance} = a.{balance} + s.total,
                {_col(account, "lifetime_earned")} = a.{_col(account, "lifetime_earned")} + s.total,
                {_col(account, "updated_at")} = %(at)s
            FROM (SELECT account_id, SUM({_col(entry, "points")}) AS total FROM e
                  GROUP BY account_id) s
            WHERE a.id = s.account_id
        )
        SELECT COUNT(*) FROM e
    """

    def defaults():
        return insert_select(entry, {name: "NULL" for name in _BULK_ENTRY_GIVEN})[3]

    return sql, defaults


_BULK_ENTRY_GIVEN = (
    "account", "kind", "points", "balance_after", "store", "actor", "source", "reason",
    "reference", "key", "created_at",
)  # fmt: skip


# --------------------------------------------------------------------------- history at scale


def next_entry_id_sql():
    """SQL giving a fresh points entry id: a set-based loader assigns ids before writing, so
    the rows that name an entry (a sale) can be written without reading them back."""
    return f"nextval(pg_get_serial_sequence('{PointsEntry._meta.db_table}', 'id'))"


def sale_entry_key_sql(store_id, receipt_no, kind):
    """`sale_entry_key` in SQL, over the given column expressions."""
    return f"'sale:' || {store_id} || ':' || {receipt_no} || ':{kind}'"


def bulk_load_points(*, openings, sales, source, now=None) -> dict:
    """Write the points side of a history in a few set-based statements (`seed_scale`): the
    accounts, every entry with its running `balance_after` computed in the INSERT (entries are
    append-only: each row is written right the first time), the lots, what each redemption took
    from which lot, and the tier progress by month.

    `openings`: a table (member_id, store_id, at, points, entry_id, expires_at), one row per
    member, none of whom has an account yet; `sales`: a table (member_id, store_id, receipt_no,
    at, total, offset_amount, redeem, earn, redeem_entry_id, earn_entry_id, expires_at), the
    entry ids taken from `next_entry_id_sql()`. A redemption takes its points from the member's
    opening lot: the loader requires it to hold them and to expire no later than any lot of
    theirs, so that is what first-to-expire-first takes."""
    now = now or timezone.now()
    account, entry, lot = PointsAccount, PointsEntry, PointsLot
    totals = {}
    with connection.cursor() as cursor:
        target, columns, values, defaults = insert_select(
            account,
            {
                "member": "o.member_id",
                "balance": "o.points + COALESCE(s.earn, 0) - COALESCE(s.redeem, 0)",
                "lifetime_earned": "o.points + COALESCE(s.earn, 0)",
                "lifetime_redeemed": "COALESCE(s.redeem, 0)",
                "lifetime_expired": "0",
                "qualifying_spend": "COALESCE(s.spend, 0)",
                "qualifying_points": "COALESCE(s.earn, 0)",
                "updated_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM {openings} o LEFT JOIN ("
            "SELECT member_id, SUM(earn) AS earn, SUM(redeem) AS redeem, "
            f"SUM(total - offset_amount) AS spend FROM {sales} GROUP BY member_id) s "
            "ON s.member_id = o.member_id ORDER BY o.member_id",
            {**defaults, "now": now},
        )
        totals["accounts"] = cursor.rowcount
        key = {
            "redeem": sale_entry_key_sql("s.store_id", "s.receipt_no", Kind.REDEEM.value),
            "earn": sale_entry_key_sql("s.store_id", "s.receipt_no", Kind.EARN.value),
        }
        moves = f"""
            SELECT o.member_id, o.entry_id AS id, '{Kind.OPENING.value}' AS kind,
                   o.points, o.at, 0 AS ord, o.store_id, 'opening:points:' || o.member_id AS key,
                   '' AS reference
            FROM {openings} o WHERE o.points > 0
            UNION ALL
            SELECT s.member_id, s.redeem_entry_id, '{Kind.REDEEM.value}', -s.redeem, s.at, 1,
                   s.store_id, {key["redeem"]}, s.receipt_no
            FROM {sales} s WHERE s.redeem > 0
            UNION ALL
            SELECT s.member_id, s.earn_entry_id, '{Kind.EARN.value}', s.earn, s.at, 2,
                   s.store_id, {key["earn"]}, s.receipt_no
            FROM {sales} s WHERE s.earn > 0
        """
        target, columns, values, defaults = insert_select(
            entry,
            {
                "id": "m.id",
                "account": "a.id",
                "kind": "m.kind",
                "points": "m.points",
                "balance_after": (
                    "SUM(m.points) OVER (PARTITION BY m.member_id ORDER BY m.at, m.ord, m.id)"
                ),
                "store": "m.store_id",
                "source": "%(source)s",
                "reason": "''",
                "reference": "left(m.reference, 100)",
                "key": "m.key",
                "created_at": "m.at",
            },
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM ({moves}) m "
            f"JOIN {_table(account)} a ON a.{_col(account, 'member')} = m.member_id ORDER BY m.id",
            {**defaults, "source": source},
        )
        totals["entries"] = cursor.rowcount
        target, columns, values, defaults = insert_select(
            lot,
            {
                "account": "a.id",
                "entry": "x.entry_id",
                "points": "x.points",
                "remaining": "x.remaining",
                "earned_at": "x.at",
                "expires_at": "x.expires_at",
            },
        )
        cursor.execute(
            f"""
            INSERT INTO {target} ({columns}) SELECT {values} FROM (
                SELECT o.member_id, o.entry_id, o.points,
                       o.points - COALESCE(r.redeem, 0) AS remaining, o.at, o.expires_at
                FROM {openings} o LEFT JOIN (
                    SELECT member_id, SUM(redeem) AS redeem FROM {sales} GROUP BY member_id
                ) r ON r.member_id = o.member_id
                WHERE o.points > 0
                UNION ALL
                SELECT s.member_id, s.earn_entry_id, s.earn, s.earn, s.at, s.expires_at
                FROM {sales} s WHERE s.earn > 0
            ) x JOIN {_table(account)} a ON a.{_col(account, "member")} = x.member_id
            ORDER BY x.entry_id
            """,
            defaults,
        )
        totals["lots"] = cursor.rowcount
        target, columns, values, defaults = insert_select(
            LotConsumption, {"entry": "s.redeem_entry_id", "lot": "l.id", "points": "s.redeem"}
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM {sales} s "
            f"JOIN {openings} o ON o.member_id = s.member_id "
            f"JOIN {_table(lot)} l ON l.{_col(lot, 'entry')} = o.entry_id "
            "WHERE s.redeem > 0",
            defaults,
        )
        target, columns, values, defaults = insert_select(
            TierProgress,
            {"account": "a.id", "month": "p.month", "spend": "p.spend", "points": "p.points"},
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM ("
            "SELECT member_id, date_trunc('month', at AT TIME ZONE %(tz)s)::date AS month, "
            "SUM(total - offset_amount) AS spend, SUM(earn) AS points "
            f"FROM {sales} GROUP BY 1, 2) p "
            f"JOIN {_table(account)} a ON a.{_col(account, 'member')} = p.member_id",
            {**defaults, "tz": timezone.get_current_timezone_name()},
        )
    return totals
