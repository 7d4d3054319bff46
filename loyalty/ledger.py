"""The one writer of the points ledger.

Every points service (sales, refunds, adjustments, bonuses, imports, gifts) ends in
`post_points_entry`; nothing else inserts into PointsEntry, PointsLot or LotConsumption or
changes a PointsAccount balance (a test scans the code for other writers). The set-based expiry
path lives here too, for the same reason.

Invariant kept here: balance == SUM(entries.points), and SUM(lots.remaining) == max(balance, 0).
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .exceptions import InsufficientPoints
from .models import LotConsumption, PointsAccount, PointsEntry, PointsLot

Kind = PointsEntry.Kind

# Which lifetime counter a kind moves. Reversals move the counter of what they reverse back.
EARNING_KINDS = {Kind.OPENING, Kind.EARN, Kind.BONUS}
SPENDING_KINDS = {Kind.REDEEM, Kind.GIFT}


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


def _open_lots(account, lot_ids=None):
    # First to expire, first spent; never-expiring lots last. Locked after the account (fixed
    # order: account, then lots) so expiry and spending cannot deadlock.
    lots = PointsLot.objects.select_for_update().filter(account=account, remaining__gt=0)
    if lot_ids is not None:
        lots = lots.filter(id__in=lot_ids)
    return list(lots.order_by(F("expires_at").asc(nulls_last=True), "earned_at", "id"))


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
) -> PointsEntry:
    """Write one points entry, move lots and the balance, under the account's row lock.

    - points > 0 adds a lot expiring at `expires_at` (None: never), or, with `reverses`, gives
      the points back to exactly the lots that spend took. A negative balance (debt) is paid
      first, so lots only ever hold what the member can spend.
    - points < 0 takes from lots first-to-expire-first (or only from `lot_ids`), recording
      which. It raises InsufficientPoints if the balance does not cover it, unless
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
        _take(entry, account, -points, allow_negative, lot_ids)

    account.balance = old_balance + points
    fields = ["balance", "updated_at"]
    counter = _counter_change(kind, points, reverses)
    if counter:
        name, change = counter
        setattr(account, name, max(getattr(account, name) + change, 0))
        fields.append(name)
    account.save(update_fields=fields)
    return entry


def _counter_change(kind, points, reverses):
    if kind in EARNING_KINDS:
        return "lifetime_earned", points
    if kind == Kind.ADJUST and points > 0:
        return "lifetime_earned", points
    if kind in SPENDING_KINDS:
        return "lifetime_redeemed", -points
    if kind == Kind.EXPIRE:
        return "lifetime_expired", -points
    if kind == Kind.EARN_REVERSAL:
        return "lifetime_earned", points
    if kind == Kind.REDEEM_REVERSAL:
        return "lifetime_redeemed", -points
    return None


def _take(entry, account, need, allow_negative, lot_ids):
    lots = _open_lots(account, lot_ids)
    available = sum(lot.remaining for lot in lots)
    if need > available and not allow_negative:
        raise InsufficientPoints(fields={"points": [f"{available} < {need}"]})
    consumptions, changed = [], []
    left = need
    for lot in lots:
        if not left:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
        changed.append(lot)
        consumptions.append(LotConsumption(entry=entry, lot=lot, points=taken))
    if changed:
        PointsLot.objects.bulk_update(changed, ["remaining"])
        LotConsumption.objects.bulk_create(consumptions)
    # `left` (if any) is the open debt: the balance goes negative, no lot backs it.


def _give_back(entry, spend, amount):
    """Return `amount` points to the lots `spend` took them from, in the order it took them."""
    outstanding = {}
    for lot_id, taken in LotConsumption.objects.filter(entry=spend).values_list("lot_id", "points"):
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
    for lot_id in sorted(lots):
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


def _other_columns(model, given):
    """(column, value) for the concrete fields not in `given`, at their Python defaults, so a
    set-based INSERT stays valid when a field with a default is added to the model."""
    from django.db import connection

    pairs = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.generated or field.column in given:
            continue
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        pairs.append((field.column, field.get_db_prep_save(value, connection)))
    return pairs


def bulk_post_opening_points(*, items, source, actor=None, reason="", at=None) -> int:
    """Open points accounts for new members and post their opening points, set-based.

    `items`: iterable of (member_id, points, expires_at, store_id, reference). Only members
    without a points account are touched (the account is created here, with an OPENING entry
    and a lot when points > 0), so a rerun adds nothing. Returns the number of entries posted.
    On PostgreSQL: COPY into a temporary table and one INSERT per table; elsewhere the same
    result through `post_points_entry` row by row.
    """
    from django.db import connection

    at = at or timezone.now()
    actor_id = getattr(actor, "pk", actor)
    with transaction.atomic():
        if connection.vendor != "postgresql":
            return _bulk_opening_points_orm(items, source, actor, reason, at)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _opening_points (member_id bigint, "
                "points integer, expires_at timestamptz, store_id bigint, reference text) "
                "ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE _opening_points")
            with cursor.copy(
                "COPY _opening_points (member_id, points, expires_at, store_id, reference) "
                "FROM STDIN"
            ) as copy:
                for item in items:
                    copy.write_row(item)
            account_given = {"member_id", "balance", "lifetime_earned"}
            account_other = _other_columns(PointsAccount, account_given)
            entry_given = {
                "account_id", "kind", "points", "balance_after", "store_id", "actor_id",
                "source", "reason", "reference", "key", "created_at",
            }  # fmt: skip
            entry_other = _other_columns(PointsEntry, entry_given)
            lot_given = {"account_id", "entry_id", "points", "remaining", "earned_at", "expires_at"}
            lot_other = _other_columns(PointsLot, lot_given)

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
                       t.expires_at{vals(lot_other)}
                FROM ent JOIN acc ON acc.id = ent.account_id
                     JOIN _opening_points t ON t.member_id = acc.member_id
                """,
                [value for _, value in account_other]
                + [Kind.OPENING, actor_id, source, reason[:200], at]
                + [value for _, value in entry_other]
                + [at]
                + [value for _, value in lot_other],
            )
            return cursor.rowcount


def _bulk_opening_points_orm(items, source, actor, reason, at):
    from stores.models import Store

    posted = 0
    for member_id, points, expires_at, store_id, reference in items:
        account, created = PointsAccount.objects.get_or_create(member_id=member_id)
        if not created or not points:
            continue
        post_points_entry(
            member=account.member,
            points=points,
            kind=Kind.OPENING,
            source=source,
            actor=actor,
            store=Store(pk=store_id) if store_id else None,
            reason=reason,
            reference=reference,
            key=f"opening:points:{member_id}",
            expires_at=expires_at,
            at=at,
        )
        posted += 1
    return posted
