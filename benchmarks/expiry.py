"""Expiry over 1,000,000 lots on PostgreSQL: set-based per chunk of accounts against the naive
per-lot ORM loop (one transaction and one post_points_entry per lot) on a sample, same run.
Target (issue 4): the million in at most 60 s.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/expiry.py \
        [--members 20000] [--lots-per-member 50] [--sample 2000] [--chunk-size 5000]

The run happens in a scratch database `<db>_expiry` next to the one in DATABASE_URL (dropped
and created first, migrated), so it commits like production does and touches nothing else.
Data is generated set-based in SQL (generate_series), ledger entries with their running
balances in the same INSERT: entries are append-only.
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import fresh_database  # noqa: E402

if "--help" not in sys.argv and "-h" not in sys.argv:
    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_expiry"))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from loyalty.ledger import expire_lots_one_by_one, expire_points, expiry_cutoff  # noqa: E402
from loyalty.selectors import points_ledger_differences  # noqa: E402
from members.models import Member  # noqa: E402
from stores.models import Store  # noqa: E402

AS_OF = date(2031, 1, 1)


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def generate(members, per_member):
    store, _ = Store.objects.get_or_create(code="BENCH1", defaults={"name": "压测门店"})
    started = time.perf_counter()
    Member.objects.bulk_create(
        [
            Member(member_no=f"BENCHX{i:07d}", phone=f"188{i:08d}", home_store=store)
            for i in range(members)
        ],
        batch_size=5000,
    )
    sql(
        """INSERT INTO loyalty_pointsaccount (member_id, balance, lifetime_earned,
               lifetime_redeemed, lifetime_expired, updated_at)
           SELECT id, 0, 0, 0, 0, now() FROM members_member WHERE member_no LIKE 'BENCHX%%'"""
    )
    # One opening entry and one lot per (account, n), all due before AS_OF; each entry with
    # its running balance (entries are append-only: written right the first time).
    sql(
        """INSERT INTO loyalty_pointsentry (account_id, kind, points, balance_after, source,
               reason, reference, key, created_at)
           SELECT a.id, 'opening', 10 + n %% 7,
                  SUM(10 + n %% 7) OVER (PARTITION BY a.id ORDER BY n), 'command', '', 'bench',
                  NULL, timestamptz '2029-01-01' + n * interval '1 day'
           FROM loyalty_pointsaccount a
           JOIN members_member m ON m.id = a.member_id AND m.member_no LIKE 'BENCHX%%'
           CROSS JOIN generate_series(1, %s) n
           ORDER BY a.id, n""",
        [per_member],
    )
    lots = sql(
        """INSERT INTO loyalty_pointslot (account_id, entry_id, points, remaining, earned_at,
               expires_at)
           SELECT e.account_id, e.id, e.points, e.points, e.created_at,
                  timestamptz '2030-06-01' + (e.id %% 180) * interval '1 day'
           FROM loyalty_pointsentry e WHERE e.reference = 'bench'"""
    )
    # The balances, so the ledgers agree before the run.
    sql(
        """UPDATE loyalty_pointsaccount a SET balance = s.total, lifetime_earned = s.total
           FROM (SELECT account_id, SUM(points) AS total FROM loyalty_pointsentry
                 WHERE reference = 'bench' GROUP BY account_id) s
           WHERE a.id = s.account_id"""
    )
    sql("ANALYZE loyalty_pointslot")
    sql("ANALYZE loyalty_pointsentry")
    sql("ANALYZE loyalty_pointsaccount")
    return lots, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--lots-per-member", type=int, default=50)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    args = parser.parse_args()
    print(f"database: {connection.settings_dict['NAME']}")
    lots, seconds = generate(args.members, args.lots_per_member)
    print(f"generated {lots:,} due lots for {args.members:,} members in {seconds:.1f} s")

    cutoff = expiry_cutoff(AS_OF)
    started = time.perf_counter()
    naive = expire_lots_one_by_one(
        cutoff=cutoff, day=AS_OF.isoformat(), source="command", limit=args.sample
    )
    naive_seconds = time.perf_counter() - started
    naive_rate = naive["lots"] / naive_seconds
    print(
        f"naive per-lot ORM loop: {naive['lots']:,} lots in {naive_seconds:.2f} s "
        f"= {naive_rate:,.0f} lots/s"
    )

    started = time.perf_counter()
    totals = expire_points(as_of=AS_OF, source="command", chunk_size=args.chunk_size)
    set_seconds = time.perf_counter() - started
    set_rate = totals["lots"] / set_seconds
    print(
        f"set-based expire_points: {totals['lots']:,} lots ({totals['points']:,} points, "
        f"{totals['accounts']:,} accounts) in {set_seconds:.1f} s = {set_rate:,.0f} lots/s"
        f" (chunk {args.chunk_size} accounts)"
    )
    print(
        f"ratio set-based / naive: {set_rate / naive_rate:.0f}x; "
        f"naive for the same lots would take ~{totals['lots'] / naive_rate / 60:.0f} min"
    )
    print(f"target: {totals['lots']:,} lots in <= 60 s: {'met' if set_seconds <= 60 else 'MISSED'}")

    started = time.perf_counter()
    again = expire_points(as_of=AS_OF, source="command", chunk_size=args.chunk_size)
    print(
        f"rerun as of the same day: {again['lots']} lots in {time.perf_counter() - started:.1f} s"
    )
    bad = points_ledger_differences().filter(member__member_no__startswith="BENCHX").count()
    print(f"accounts whose ledger disagrees after the run: {bad}")


if __name__ == "__main__":
    main()
