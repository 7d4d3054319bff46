"""The one writer of coupons: issuing (with the template's total and the per-member limit),
taking at a checkout, returning on a refund, expiring and voiding. Nothing else changes a
coupon's status, a template's issued count or a holding, or writes a CouponEvent (a test walks
the code for other writers; the database refuses UPDATE and DELETE of events).

Issuing is set-based per chunk of members, in one transaction per chunk:
1. the members without a coupon for this occasion yet (the issue key is unique: a retry or a
   second run issues nothing twice);
2. their holdings go up by one where they are below the per-member limit (a conditional upsert:
   concurrent issuers queue on the holding rows and never exceed the limit);
3. the template's issued count goes up by as many as are left of its total (a conditional
   UPDATE: the total is never exceeded however many issuers run);
4. one INSERT of the coupons and their ISSUED events.
"""

import functools
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.sql import insert_sql

from . import codes
from .models import Coupon, CouponEvent, CouponHolding, CouponTemplate

Status = Coupon.Status
Kind = CouponEvent.Kind


def _table(model):
    return f'"{model._meta.db_table}"'


def _col(model, name):
    return f'"{model._meta.get_field(name).column}"'


@dataclass
class Issued:
    coupons: list  # [(id, code, owner id)]
    refused_limit: int = 0  # members already holding their per-member limit
    refused_total: int = 0  # members left without one: the template's total is reached


@transaction.atomic
def issue_to_members(
    *,
    template,
    version,
    member_ids,
    occasion,
    valid_from,
    valid_until,
    source,
    actor=None,
    store=None,
    reference="",
    at=None,
    points_entry=None,
):
    """Issue one coupon of `template` (terms `version`) to each of `member_ids` for
    `occasion` (the issue key is "<template>:<member>:<occasion>"). Members sorted by id, so
    concurrent issuers lock holdings in one order. Returns Issued."""
    at = at or timezone.now()
    member_ids = sorted(set(member_ids))
    if not member_ids:
        return Issued([])
    keys = {m: f"{template.pk}:{m}:{occasion}" for m in member_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_col(Coupon, 'issue_key')} FROM {_table(Coupon)} "
            f"WHERE {_col(Coupon, 'issue_key')} = ANY(%s)",
            [list(keys.values())],
        )
        done = {row[0] for row in cursor.fetchall()}
        candidates = [m for m in member_ids if keys[m] not in done]
        if not candidates:
            return Issued([])
        allowed = _hold(cursor, template, candidates, +1)
        refused_limit = len(candidates) - len(allowed)
        reserved = _reserve(cursor, template, len(allowed))
        granted, excess = allowed[:reserved], allowed[reserved:]
        if excess:
            _hold(cursor, template, excess, -1)
        created = _insert(
            cursor,
            template=template,
            version=version,
            owners=granted,
            keys=[keys[m] for m in granted],
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            actor=actor,
            store=store,
            reference=reference,
            at=at,
            points_entry=points_entry,
        )
        if len(created) < len(granted):
            # Another issuer inserted the same occasion meanwhile: give back what this run
            # counted for it.
            missing = sorted(set(granted) - {owner for _id, _code, owner in created})
            _hold(cursor, template, missing, -1)
            _reserve(cursor, template, -len(missing))
    return Issued(created, refused_limit=refused_limit, refused_total=len(excess))


@transaction.atomic
def issue_printed(
    *, template, version, count, occasion, valid_from, valid_until, source, actor=None, at=None
):
    """`count` printed coupons (no owner) for `occasion` (a print run). Returns their codes."""
    at = at or timezone.now()
    with connection.cursor() as cursor:
        reserved = _reserve(cursor, template, count)
        created = _insert(
            cursor,
            template=template,
            version=version,
            owners=[None] * reserved,
            keys=[f"{template.pk}:printed:{occasion}:{n}" for n in range(reserved)],
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            actor=actor,
            store=None,
            reference=occasion,
            at=at,
        )
    return [code for _id, code, _owner in created]


def _hold(cursor, template, member_ids, change):
    """Move the holdings of `member_ids` by `change` (+1: only below the limit; -1: give
    back). Returns the members whose holding moved."""
    if not member_ids:
        return []
    holding, template_col = _table(CouponHolding), _col(CouponHolding, "template")
    member_col, held = _col(CouponHolding, "member"), _col(CouponHolding, "held")
    if change > 0:
        cursor.execute(
            f"INSERT INTO {holding} ({template_col}, {member_col}, {held}) "
            f"SELECT %s, m, 1 FROM unnest(%s::bigint[]) AS m ORDER BY m "
            f"ON CONFLICT ({template_col}, {member_col}) DO UPDATE "
            f"SET {held} = {holding}.{held} + 1 WHERE {holding}.{held} < %s "
            f"RETURNING {member_col}",
            [template.pk, member_ids, template.per_member_limit],
        )
        moved = {row[0] for row in cursor.fetchall()}
        return [m for m in member_ids if m in moved]
    cursor.execute(
        f"UPDATE {holding} SET {held} = {held} - 1 WHERE {template_col} = %s "
        f"AND {member_col} = ANY(%s) AND {held} > 0",
        [template.pk, member_ids],
    )
    return member_ids


def _reserve(cursor, template, count):
    """Take `count` from what is left of the template's total (all of it if fewer are left;
    a negative count gives back). Returns how many were taken. The template row is locked and
    read in a statement of its own, so the count is decided from the latest committed total
    (the database's check issued <= total is the backstop)."""
    if count == 0:
        return 0
    table, issued = _table(CouponTemplate), _col(CouponTemplate, "issued")
    total = _col(CouponTemplate, "total_quantity")
    cursor.execute(f"SELECT {issued}, {total} FROM {table} WHERE id = %s FOR UPDATE", [template.pk])
    now_issued, limit = cursor.fetchone()
    taken = count if count < 0 or limit is None else min(count, max(limit - now_issued, 0))
    if taken:
        cursor.execute(
            f"UPDATE {table} SET {issued} = {issued} + %s WHERE id = %s", [taken, template.pk]
        )
    template.issued = now_issued + taken
    return taken


def _insert(
    cursor,
    *,
    template,
    version,
    owners,
    keys,
    valid_from,
    valid_until,
    source,
    actor,
    store,
    reference,
    at,
    points_entry=None,
):
    if not owners:
        return []
    coupons = [
        Coupon(
            code=code,
            template=template,
            version=version,
            owner_id=owner,
            status=Status.AVAILABLE,
            valid_from=valid_from,
            valid_until=valid_until,
            issue_key=key,
            issued_at=at,
            points_entry=points_entry,
        )
        for owner, key, code in zip(owners, keys, codes.new_codes(len(owners)), strict=True)
    ]
    sql, params = insert_sql(Coupon, coupons, returning="id, code, owner_id, issue_key")
    # ON CONFLICT: a key another issuer inserted meanwhile, or (never seen) a random code twice.
    sql = sql.replace(" RETURNING ", " ON CONFLICT DO NOTHING RETURNING ", 1)
    cursor.execute(sql, params)
    created = [(pk, code, owner) for pk, code, owner, _key in cursor.fetchall()]
    _events(
        cursor,
        [pk for pk, _code, _owner in created],
        kind=Kind.ISSUED,
        source=source,
        actor=actor,
        store=store,
        reference=reference,
        at=at,
    )
    return created


def _events(cursor, coupon_ids, *, kind, source, actor=None, store=None, terminal=None,
            reference="", at=None, discounts=None, key_suffix=None):  # fmt: skip
    if not coupon_ids:
        return
    discounts = discounts or {}
    events = [
        CouponEvent(
            coupon_id=pk,
            kind=kind,
            discount=discounts.get(pk, 0),
            source=source,
            actor=actor,
            store=store,
            terminal=terminal,
            reference=reference[:100],
            key=f"coupon:{pk}:{kind}:{key_suffix}" if key_suffix else None,
            created_at=at or timezone.now(),
        )
        for pk in coupon_ids
    ]
    sql, params = insert_sql(CouponEvent, events)
    cursor.execute(sql, params)


# --- at the checkout ---------------------------------------------------------------------------


def add_take(statement, *, coupons, discounts, store, terminal, reference, source, actor, at):
    """Add to a checkout statement (core.sql.Statement) the taking of `coupons` (id ->
    discount in `discounts`): each taken only if still available, by a conditional UPDATE, so
    one sale wins however many tills try. Returns the SQL that selects how many were taken;
    the caller refuses the sale (coupon_used) unless it is all of them."""
    table, status = _table(Coupon), _col(Coupon, "status")
    ids = [c.pk for c in coupons]
    statement.add(
        "coupons_taken",
        f"UPDATE {table} SET {status} = %s, {_col(Coupon, 'used_at')} = %s, "
        f"{_col(Coupon, 'used_store')} = %s, {_col(Coupon, 'used_reference')} = %s "
        f"WHERE id = ANY(%s::bigint[]) AND {status} = %s RETURNING id",
        [
            Status.USED,
            Coupon._meta.get_field("used_at").get_db_prep_save(at, connection),
            store.pk,
            reference[:100],
            ids,
            Status.AVAILABLE,
        ],
    )
    events = [
        CouponEvent(
            coupon_id=c.pk,
            kind=Kind.USED,
            discount=discounts[c.pk],
            source=source,
            actor=actor,
            store=store,
            terminal=terminal,
            reference=reference[:100],
            created_at=at,
        )
        for c in coupons
    ]
    sql, params = insert_sql(CouponEvent, events)
    statement.add("coupon_events", sql, params)
    return "(SELECT count(*) FROM coupons_taken)"


@transaction.atomic
def give_back(*, coupon, reference, source, actor=None, store=None, terminal=None, at=None):
    """A used coupon comes back (its sale wholly refunded): available again, or expired if its
    date has passed, each move with its event. Returns the coupon."""
    at = at or timezone.now()
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if locked.status != Status.USED:
        return locked
    from .terms import is_expired

    status = Status.EXPIRED if is_expired(locked, at) else Status.AVAILABLE
    Coupon.objects.filter(pk=locked.pk).update(
        status=status, used_at=None, used_store=None, used_reference=""
    )
    with connection.cursor() as cursor:
        common = {"source": source, "actor": actor, "store": store, "terminal": terminal}
        _events(cursor, [locked.pk], kind=Kind.RETURNED, reference=reference, at=at, **common)
        if status == Status.EXPIRED:
            _events(cursor, [locked.pk], kind=Kind.EXPIRED, reference=reference, at=at, **common)
    locked.status = status
    return locked


@transaction.atomic
def void(*, coupon, reason, source, actor=None):
    """Void an available coupon (it can no longer be used); the member's holding goes down
    (the template's issued count stays: it counts every coupon ever issued). Returns whether
    it was voided."""
    moved = Coupon.objects.filter(pk=coupon.pk, status=Status.AVAILABLE).update(
        status=Status.VOIDED
    )
    if not moved:
        return False
    with connection.cursor() as cursor:
        if coupon.owner_id:
            _hold(cursor, coupon.template, [coupon.owner_id], -1)
        _events(cursor, [coupon.pk], kind=Kind.VOIDED, source=source, actor=actor,
                reference=reason)  # fmt: skip
    coupon.status = Status.VOIDED
    return True


def expire(*, as_of=None, source, actor=None, chunk_size=5000):
    """Mark every available coupon past its last second expired, with its event. Chunked (one
    short transaction per chunk), idempotent: a rerun finds nothing more. Returns how many."""
    cutoff = (as_of or timezone.now()) - timezone.timedelta(seconds=1)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_expire_sql(), [Status.EXPIRED, Status.AVAILABLE, cutoff, chunk_size])
            ids = [row[0] for row in cursor.fetchall()]
            _events(cursor, ids, kind=Kind.EXPIRED, source=source, actor=actor)
        total += len(ids)
        if len(ids) < chunk_size:
            return total


@functools.cache
def _expire_sql():
    table, status = _table(Coupon), _col(Coupon, "status")
    until = _col(Coupon, "valid_until")
    return (
        f"UPDATE {table} SET {status} = %s WHERE id IN (SELECT id FROM {table} "
        f"WHERE {status} = %s AND {until} < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        "RETURNING id"
    )
