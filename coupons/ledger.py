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

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.sql import column, insert_select_sql, insert_sql
from core.sql import table as table_of

from . import codes
from .models import Coupon, CouponEvent, CouponHolding, CouponTemplate

Status = Coupon.Status
Kind = CouponEvent.Kind
BULK = 1000  # more members than this in one call: a chunk of a bulk job


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
    key = (f"{template.pk}:", f":{occasion}")  # the issue key around the member id
    with connection.cursor() as cursor:
        if len(member_ids) > BULK:
            # A chunk of a bulk job: idempotent by issue key, so a crash right after COMMIT
            # is recovered by running the job again; the commit need not wait for the WAL
            # flush (this transaction only).
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"SELECT {column(Coupon, 'owner')} FROM {table_of(Coupon)} "
            f"WHERE {column(Coupon, 'issue_key')} IN "
            "(SELECT %s || m::text || %s FROM unnest(%s::bigint[]) AS m)",
            [*key, _array(member_ids)],
        )
        done = {row[0] for row in cursor.fetchall()}
        candidates = [m for m in member_ids if m not in done]
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
            keys=key,
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


def _array(values):
    """A PostgreSQL array literal of numbers or codes (no quoting needed); None is NULL."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _hold(cursor, template, member_ids, change):
    """Move the holdings of `member_ids` by `change` (+1: only below the limit; -1: give
    back). Returns the members whose holding moved."""
    if not member_ids:
        return []
    holding, template_col = table_of(CouponHolding), column(CouponHolding, "template")
    member_col, held = column(CouponHolding, "member"), column(CouponHolding, "held")
    if change > 0:
        cursor.execute(
            f"INSERT INTO {holding} ({template_col}, {member_col}, {held}) "
            f"SELECT %s, m, 1 FROM unnest(%s::bigint[]) AS m ORDER BY m "
            f"ON CONFLICT ({template_col}, {member_col}) DO UPDATE "
            f"SET {held} = {holding}.{held} + 1 WHERE {holding}.{held} < %s "
            f"RETURNING {member_col}",
            [template.pk, _array(member_ids), template.per_member_limit],
        )
        moved = {row[0] for row in cursor.fetchall()}
        return [m for m in member_ids if m in moved]
    cursor.execute(
        f"UPDATE {holding} SET {held} = {held} - 1 WHERE {template_col} = %s "
        f"AND {member_col} = ANY(%s::bigint[]) AND {held} > 0",
        [template.pk, _array(member_ids)],
    )
    return member_ids


def _reserve(cursor, template, count):
    """Take `count` from what is left of the template's total (all of it if fewer are left;
    a negative count gives back). Returns how many were taken. The template row is locked and
    read in a statement of its own, so the count is decided from the latest committed total
    (the database's check issued <= total is the backstop)."""
    if count == 0:
        return 0
    table, issued = table_of(CouponTemplate), column(CouponTemplate, "issued")
    total = column(CouponTemplate, "total_quantity")
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
    """One statement: the coupons (fresh codes and owners as two arrays; `keys` a list, or
    (prefix, suffix) around each owner's id) and their ISSUED events. A key another issuer
    inserted meanwhile (or, never seen, a random code twice) is skipped by ON CONFLICT.
    Returns [(id, code, owner id)] of those inserted."""
    if not owners:
        return []
    if isinstance(keys, tuple):
        keyed = "(SELECT %s || t.owner::text || %s AS key) AS k"
        key_params = list(keys)
    else:
        keyed = "unnest(%s::text[]) WITH ORDINALITY AS k(key, n) ON k.n = t.n"
        key_params = [list(keys)]
    coupons, coupons_params = insert_select_sql(
        Coupon,
        select_from=(
            "unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS t(code, owner, n) "
            f"{'CROSS JOIN LATERAL' if isinstance(keys, tuple) else 'JOIN'} {keyed}"
        ),
        expressions={"code": "t.code", "owner_id": "t.owner", "issue_key": "k.key"},
        constants={
            "template_id": template.pk,
            "version_id": version.pk,
            "status": Status.AVAILABLE,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "issued_at": at,
            "points_entry_id": getattr(points_entry, "pk", None),
        },
        # Codes are letters and digits, ids are numbers: array literals need no quoting, and
        # one string costs less to send than thousands of bound elements.
        from_params=[_array(codes.new_codes(len(owners))), _array(owners), *key_params],
    )
    events, events_params = _events_from(
        "new_coupons", kind=Kind.ISSUED, source=source, actor=actor, store=store,
        reference=reference, at=at,
    )  # fmt: skip
    cursor.execute(
        f"WITH new_coupons AS ({coupons} ON CONFLICT DO NOTHING RETURNING id, code, owner_id), "
        f"issued AS ({events}) SELECT id, code, owner_id FROM new_coupons",
        [*coupons_params, *events_params],
    )
    return cursor.fetchall()


def _events_from(relation, *, kind, source, actor=None, store=None, terminal=None,
                 reference="", at=None, discount=0):  # fmt: skip
    """(sql, params): an event of `kind` for every coupon id in `relation` (a CTE's `id`)."""
    return insert_select_sql(
        CouponEvent,
        select_from=relation,
        expressions={"coupon_id": f"{relation}.id"},
        constants={
            "kind": kind,
            "source": source,
            "actor_id": getattr(actor, "pk", None),
            "store_id": getattr(store, "pk", None),
            "terminal_id": getattr(terminal, "pk", None),
            "reference": reference[:100],
            "key": None,
            "discount": discount,
            "created_at": at or timezone.now(),
        },
    )


def _events(cursor, coupon_ids, *, kind, source, actor=None, store=None, terminal=None,
            reference="", at=None, discount=0):  # fmt: skip
    if not coupon_ids:
        return
    sql, params = _events_from(
        "picked", kind=kind, source=source, actor=actor, store=store, terminal=terminal,
        reference=reference, at=at, discount=discount,
    )  # fmt: skip
    cursor.execute(
        f"WITH picked AS (SELECT unnest(%s::bigint[]) AS id) {sql}", [list(coupon_ids), *params]
    )


# --- at the checkout ---------------------------------------------------------------------------


def add_take(statement, *, coupons, discounts, store, terminal, reference, source, actor, at):
    """Add to a checkout statement (core.sql.Statement) the taking of `coupons` (id ->
    discount in `discounts`): each taken only if still available, by a conditional UPDATE, so
    one sale wins however many tills try. Returns the SQL that selects how many were taken;
    the caller refuses the sale (coupon_used) unless it is all of them."""
    table, status = table_of(Coupon), column(Coupon, "status")
    ids = [c.pk for c in coupons]
    statement.add(
        "coupons_taken",
        f"UPDATE {table} SET {status} = %s, {column(Coupon, 'used_at')} = %s, "
        f"{column(Coupon, 'used_store')} = %s, {column(Coupon, 'used_reference')} = %s "
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
        # The discount the use gave comes back with the coupon (settlement reverses it).
        _events(cursor, [locked.pk], kind=Kind.RETURNED, reference=reference, at=at,
                discount=_used_discount(locked), **common)  # fmt: skip
        if status == Status.EXPIRED:
            _events(cursor, [locked.pk], kind=Kind.EXPIRED, reference=reference, at=at, **common)
    locked.status = status
    return locked


@transaction.atomic
def undo_discount(*, coupon, reference, source, actor=None, store=None, terminal=None, at=None):
    """A used coupon whose terms keep it used when its sale is wholly refunded: it stays used
    (the member does not get it back), but the discount it gave went with the sale, so an
    event carries that discount back (settlement reverses its funding as it does for a coupon
    given back). Once per use: a coupon whose last event is not its use is left alone."""
    at = at or timezone.now()
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    last = CouponEvent.objects.filter(coupon=locked).order_by("-id").values_list("kind", flat=True)
    if locked.status != Status.USED or last.first() != Kind.USED:
        return locked
    with connection.cursor() as cursor:
        _events(cursor, [locked.pk], kind=Kind.REFUNDED, reference=reference, at=at,
                discount=_used_discount(locked), source=source, actor=actor, store=store,
                terminal=terminal)  # fmt: skip
    return locked


def _used_discount(coupon):
    """The discount of the coupon's last use."""
    used = (
        CouponEvent.objects.filter(coupon=coupon, kind=Kind.USED)
        .order_by("-id")
        .values_list("discount", flat=True)
        .first()
    )
    return used or 0


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
    short transaction and one statement per chunk), idempotent: a rerun finds nothing more.
    Returns how many."""
    cutoff = (as_of or timezone.now()) - timezone.timedelta(seconds=1)
    table, status = table_of(Coupon), column(Coupon, "status")
    until = column(Coupon, "valid_until")
    events, events_params = _events_from("expired", kind=Kind.EXPIRED, source=source, actor=actor)
    sql = (
        f"WITH expired AS (UPDATE {table} SET {status} = %s WHERE id IN (SELECT id FROM {table} "
        f"WHERE {status} = %s AND {until} <= %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"RETURNING id), logged AS ({events}) SELECT count(*) FROM expired"
    )
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                sql, [Status.EXPIRED, Status.AVAILABLE, cutoff, chunk_size, *events_params]
            )
            done = cursor.fetchone()[0]
        total += done
        if done < chunk_size:
            return total
