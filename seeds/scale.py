"""`manage.py seed_scale`: a chain at the scale of the benchmarks, written set-based.

Members, their cards, points accounts and wallets, opening balances (dated lots), and a year
of sales with their points and stored-value entries: with the defaults, 1,000,000 members,
6,000,000 sales and about 10,000,000 ledger entries. Each app writes its own tables from one
staging of the story (members.scale, loyalty.ledger.bulk_load_points,
wallet.ledger.bulk_load_wallets, sales.scale), so `check_ledgers` agrees afterwards.

The story of member `i` (a function of `i`, nothing random): opened one to three years ago
with 1,000–2,900 opening points (a lot expiring at the end of this year, the first thing the
nightly expiry takes on 1 January) and, for two in five, ¥500.00 of stored value; then
`i mod (2 S + 1)` sales over the last 365 days (S = --sales-per-member, the average): ¥20–500
each, 1 point per yuan paid, 100 points (¥1) redeemed at every fourth sale, ¥20 paid from
stored value at every third sale of those who have it.
"""

import time
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import Source
from core.sql import table
from loyalty.ledger import bulk_load_points
from loyalty.ledger import next_entry_id_sql as points_entry_id
from loyalty.services.rules import expires_at_for
from members.models import Member, Tier
from members.scale import insert_members, issue_cards, member_index_sql, set_last_visits
from sales.scale import insert_sales, next_sale_id_sql
from stores.models import Region, Store
from wallet.ledger import bulk_load_wallets
from wallet.ledger import next_entry_id_sql as wallet_entry_id

CATEGORIES = ["fresh", "grocery", "drinks", "bakery", "household"]


def _sql(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def seed_stores(count):
    """The demo chain plus stores up to `count` (S0005, ...), for the home-store filter."""
    region = Region.objects.filter(code="EAST").first()
    have = Store.objects.count()
    Store.objects.bulk_create(
        [
            Store(code=f"S{n:04d}", name=f"门店 {n:04d}", region=region, city="上海")
            for n in range(have + 1, count + 1)
        ],
        ignore_conflicts=True,
    )
    return list(Store.objects.order_by("pk").values_list("pk", flat=True))


def seed_scale(*, members, sales_per_member, stores, out=print, check_references=False):
    """Build the chain (see the module doc). Refuses a database that already has members
    beyond the demo's (the loaders open accounts only for members that have none).

    Unless `check_references`, the foreign keys are not checked row by row: each of the tens
    of millions of references would lock its target row at COMMIT (Django's constraints are
    deferred), which takes longer than writing the rows. The rows are consistent by
    construction; the test suite builds a small chain with the checks on to prove it. Needs a
    superuser (session_replication_role); without one the checks simply run."""
    from seeds.chain import seed_chain

    now = timezone.now()
    timings = {}

    def step(name, fn):
        started = time.monotonic()
        with transaction.atomic():
            result = fn()
        timings[name] = time.monotonic() - started
        out(f"{name}: {result} ({timings[name]:.1f} s)")
        return result

    def base():
        from loyalty import demo

        ctx = seed_chain()
        demo.seed_rules(ctx)
        return "stores, staff, tiers and rules"

    # Sorts and hashes of millions of rows (the running balances): memory for this session
    # only, instead of spilling every window to disk in 4 MB pieces.
    _sql("SET work_mem = '256MB'")
    replica = False
    if not check_references:
        try:
            with transaction.atomic():
                _sql("SET session_replication_role = replica")
            replica = True
        except DatabaseError:
            out("not a superuser: foreign keys are checked row by row (slower)")
    try:
        _build(members, sales_per_member, stores, now, step, base, out)
    finally:
        # Only a superuser may set (or reset) it: the session of anyone else never changed.
        if replica:
            _sql("RESET session_replication_role")
        _sql("RESET work_mem")
    return timings


def _build(members, sales_per_member, stores, now, step, base, out):
    step("chain and rules", base)
    if Member.objects.exists():
        raise ValueError("seed_scale needs a database without members")
    store_ids = seed_stores(stores)
    out(f"stores: {len(store_ids)}")
    tier_ids = list(Tier.objects.order_by("rank").values_list("pk", flat=True))
    step(
        "members",
        lambda: insert_members(count=members, store_ids=store_ids, tier_ids=tier_ids, now=now),
    )
    step("cards", lambda: issue_cards(now=now))
    step("staging", lambda: _stage(now=now, sales_per_member=sales_per_member))
    step(
        "points",
        lambda: bulk_load_points(
            openings="_scale_open", sales="_scale_sales", source=Source.COMMAND, now=now
        ),
    )
    step(
        "stored value",
        lambda: bulk_load_wallets(
            openings="_scale_open", sales="_scale_sales", source=Source.COMMAND, now=now
        ),
    )
    step("sales", lambda: insert_sales(sales="_scale_sales"))
    step("last visits", lambda: set_last_visits(sales_table="_scale_sales"))
    started = time.monotonic()
    _sql("ANALYZE")
    out(f"analyze: {time.monotonic() - started:.1f} s")
    _sql("DROP TABLE IF EXISTS _scale_open, _scale_sales, _scale_expiry")


def _stage(*, now, sales_per_member):
    """The story as two temporary tables (see the module doc), ids of the rows to come taken
    from their sequences so the loaders need not read anything back."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=365)
    # The expiry policy's date for each day of the year (the policy decides, as at a till).
    _sql("DROP TABLE IF EXISTS _scale_open, _scale_sales, _scale_expiry")
    _sql("CREATE TEMP TABLE _scale_expiry (day int PRIMARY KEY, expires_at timestamptz)")
    days = [(day, expires_at_for(start + timedelta(days=day, hours=12))) for day in range(366)]
    with connection.cursor() as cursor, cursor.copy("COPY _scale_expiry FROM STDIN") as copy:
        for row in days:
            copy.write_row(row)
    # Opening lots expire when this year ends: never later than a lot earned this year.
    opening_expiry = expires_at_for(start) or (today + timedelta(days=365))
    i = member_index_sql("m")
    # Ids are taken in time order (the outer SELECT runs over the ordered inner one), so the
    # ledgers' newest-first lists (by id) are newest first in time too.
    _sql(
        f"""
        CREATE TEMP TABLE _scale_open AS
        SELECT o.*, {points_entry_id()} AS entry_id,
               CASE WHEN o.stored_value > 0 THEN {wallet_entry_id()} END AS wallet_entry_id
        FROM (
            SELECT m.id AS member_id, m.home_store_id AS store_id, m.opened_at AS at,
                   {i} AS i, 1000 + ({i} %% 20) * 100 AS points,
                   %(opening_expiry)s::timestamptz AS expires_at,
                   CASE WHEN {i} %% 5 < 2 THEN 500.00 ELSE 0 END::numeric(12, 2) AS stored_value
            FROM {table(Member)} m ORDER BY m.opened_at, m.id
        ) o
        """,
        {"opening_expiry": opening_expiry},
    )
    spread = 2 * sales_per_member + 1
    _sql(
        f"""
        CREATE TEMP TABLE _scale_sales AS
        WITH base AS (
            SELECT o.member_id, o.store_id, o.i, o.points AS opening, o.stored_value > 0 AS has_sv,
                   m.tier_id, j, o.i %% {spread} AS k,
                   (20 + (o.i * 7 + j * 13) %% 480)::numeric(12, 2)
                       + CASE WHEN (o.i + j) %% 2 = 0 THEN 0.50 ELSE 0 END AS total,
                   CASE WHEN j %% 4 = 3 THEN 100 ELSE 0 END AS redeem
            FROM _scale_open o JOIN {table(Member)} m ON m.id = o.member_id
            CROSS JOIN LATERAL generate_series(0, o.i %% {spread} - 1) AS j
        ), timed AS (
            SELECT b.*, (j * 358 / k) + b.i %% 7 AS day,
                   %(start)s::timestamptz + interval '1 day' * ((j * 358 / k) + b.i %% 7)
                       + interval '1 hour' * (9 + (b.i + j) %% 12)
                       + interval '1 minute' * (b.i %% 60) AS at,
                   CASE WHEN b.has_sv AND j %% 3 = 0 THEN 20.00 ELSE 0 END::numeric(12, 2)
                       AS stored_value
            FROM base b
        )
        SELECT {next_sale_id_sql()} AS sale_id, {points_entry_id()} AS redeem_entry_id,
               {points_entry_id()} AS earn_entry_id,
               CASE WHEN w.stored_value > 0 THEN {wallet_entry_id()} END AS wallet_entry_id,
               w.*
        FROM (
            SELECT t.member_id, t.store_id, 'S' || t.i || '-' || t.j AS receipt_no, t.at,
                   t.total, (t.redeem / 100.0)::numeric(12, 2) AS offset_amount, t.stored_value,
                   t.redeem, floor(t.total - t.redeem / 100.0)::int AS earn, x.expires_at,
                   t.opening + SUM(floor(t.total - t.redeem / 100.0)::int - t.redeem)
                       OVER (PARTITION BY t.member_id ORDER BY t.j) AS points_after,
                   CASE WHEN t.has_sv THEN 500.00 ELSE 0 END
                       - SUM(t.stored_value) OVER (PARTITION BY t.member_id ORDER BY t.j)
                       AS stored_value_after,
                   t.tier_id, 'SKU' || lpad(((t.i + t.j) %% 500)::text, 4, '0') AS sku,
                   (%(categories)s::text[])[1 + (t.i + t.j) %% 5] AS category
            FROM timed t JOIN _scale_expiry x ON x.day = t.day
            ORDER BY t.at, t.member_id
        ) w
        """,
        {"start": start, "categories": CATEGORIES},
    )
    _sql("CREATE INDEX ON _scale_sales (member_id)")
    _sql("ANALYZE _scale_open")
    _sql("ANALYZE _scale_sales")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM _scale_sales")
        return f"{cursor.fetchone()[0]:,} sales staged"
