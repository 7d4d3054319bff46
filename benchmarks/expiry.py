"""Expiry over 1,000,000 lots on PostgreSQL: set-based per chunk of accounts against the naive
per-lot ORM loop (one transaction and one post_points_entry per lot) on a sample, same run.
Target (issue 16): the million in at most 20 s (issue 4: 60 s).

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

from django.conf import settings  # noqa: E402

from loyalty.ledger import expire_lots_one_by_one, expire_points, expiry_cutoff  # noqa: E402
from loyalty.selectors import points_ledger_differences  # noqa: E402
from members.models import Member  # noqa: E402
from stores.models import Store  # noqa: E402

AS_OF = date(2031, 1, 1)


def generate(members, per_member):
    from lots import generate_due_lots

    store, _ = Store.objects.get_or_create(code="BENCH1", defaults={"name": "压测门店"})
    started = time.perf_counter()
    Member.objects.bulk_create(
        [
            Member(member_no=f"BENCHX{i:07d}", phone=f"188{i:08d}", home_store=store)
            for i in range(members)
        ],
        batch_size=5000,
    )
    lots = generate_due_lots(Member.objects.filter(member_no__startswith="BENCHX"), per_member)
    return lots, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--lots-per-member", type=int, default=50)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="default EXPIRY_WORKERS")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    from django.db import connection

    print(f"database: {connection.settings_dict['NAME']}")
    lots, seconds = generate(args.members, args.lots_per_member)
    print(f"generated {lots:,} due lots for {args.members:,} members in {seconds:.1f} s")

    cutoff = expiry_cutoff(AS_OF)
    started = time.perf_counter()
    naive = expire_lots_one_by_one(
        cutoff=cutoff, day=AS_OF.isoformat(), source="command", limit=args.sample
    )
    naive_seconds = time.perf_counter() - started
    naive_rate = max(naive["lots"], 1) / naive_seconds
    print(
        f"naive per-lot ORM loop: {naive['lots']:,} lots in {naive_seconds:.2f} s "
        f"= {naive_rate:,.0f} lots/s"
    )

    started = time.perf_counter()
    totals = expire_points(
        as_of=AS_OF, source="command", chunk_size=args.chunk_size, workers=args.workers
    )
    set_seconds = time.perf_counter() - started
    set_rate = totals["lots"] / set_seconds
    print(
        f"set-based expire_points: {totals['lots']:,} lots ({totals['points']:,} points, "
        f"{totals['accounts']:,} accounts) in {set_seconds:.1f} s = {set_rate:,.0f} lots/s"
        f" (chunk {args.chunk_size} accounts, {args.workers or settings.EXPIRY_WORKERS} workers)"
    )
    print(
        f"ratio set-based / naive: {set_rate / naive_rate:.0f}x; "
        f"naive for the same lots would take ~{totals['lots'] / naive_rate / 60:.0f} min"
    )
    print(f"target: {totals['lots']:,} lots in <= 20 s: {'met' if set_seconds <= 20 else 'MISSED'}")

    started = time.perf_counter()
    again = expire_points(as_of=AS_OF, source="command", chunk_size=args.chunk_size)
    print(
        f"rerun as of the same day: {again['lots']} lots in {time.perf_counter() - started:.1f} s"
    )
    bad = points_ledger_differences().filter(member__member_no__startswith="BENCHX").count()
    print(f"accounts whose ledger disagrees after the run: {bad}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
