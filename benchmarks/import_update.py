"""Benchmark: an import with "update existing" that changes the profiles of 100,000 members,
each change with its history record (who imported it, from where, why), on PostgreSQL.

    DATABASE_URL=postgres://user:pass@127.0.0.1:5432/any_db .venv/bin/python \
        benchmarks/import_update.py [--rows 100000] [--naive-sample 2000]

Creates (and drops first) a scratch database `<db>_update`, imports the benchmark's CSV of
`--rows` members (benchmarks/import_members.py writes it), then, in the same run:
  1. the update: the same phones with new names, imported with update_existing (a COPY into a
     staging table, one UPDATE per chunk, the history records of the members it changed);
  2. the same update writing the records through simple-history's bulk_history_create (the
     rows loaded into Python first), and without any record, for what they cost;
  3. the naive baseline: each member loaded, changed and saved (simple-history's signal writes
     its record), on a sample, extrapolated to the file.
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_members import OUT, generate  # noqa: E402
from scratch import fresh_database  # noqa: E402


def renamed(source, target, suffix):
    with open(source, encoding="utf-8-sig", newline="") as src, open(
        target, "w", encoding="utf-8-sig", newline=""
    ) as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        name = header.index("姓名")
        writer.writerow(header)
        for row in reader:
            row[name] = (row[name] or "会员")[:20] + suffix
            writer.writerow(row)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"members-{args.rows}.csv"
    if not path.exists():
        generate(path, args.rows)
    os.environ.update(fresh_database(url, "_update"))
    import django

    django.setup()
    from import_members import _seed

    from core.history import bulk_note, note
    from members.importing.members import import_members
    from members.models import Member
    from members.services import members as member_services

    _seed()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    first = import_members(path, source_kind="command")
    print(f"members imported first: {first.imported:,}")

    with_history = OUT / f"members-{args.rows}-renamed-a.csv"
    without_history = OUT / f"members-{args.rows}-renamed-b.csv"
    renamed(path, with_history, "甲")
    renamed(path, without_history, "乙")
    records = Member.history.count()

    started = time.monotonic()
    result = import_members(with_history, source_kind="command", update_existing=True)
    fast = time.monotonic() - started
    written = Member.history.count() - records
    print(f"update, history by SQL  {fast:8.1f} s: {result.updated:,} members changed, "
          f"{written:,} history records")  # fmt: skip

    def orm_records(model, ids, **kwargs):
        # The same records through simple-history's bulk_history_create: rows loaded first.
        for start in range(0, len(ids), 2000):
            bulk_note(model, model.objects.filter(pk__in=ids[start : start + 2000]), **kwargs)

    kept = member_services.bulk_note_changed
    timings = {}
    for label, writer, target in (
        ("history via the ORM", orm_records, without_history),
        ("no history", lambda *a, **k: None, with_history),
    ):
        member_services.bulk_note_changed = writer
        try:
            started = time.monotonic()
            again = import_members(target, source_kind="command", update_existing=True)
            timings[label] = time.monotonic() - started
        finally:
            member_services.bulk_note_changed = kept
        print(f"update, {label:<19}{timings[label]:5.1f} s: {again.updated:,} members changed")
    bare = timings["no history"]
    print(f"the history records cost {fast - bare:+.1f} s with one INSERT ... SELECT, "
          f"{timings['history via the ORM'] - bare:+.1f} s through the ORM: "
          f"{(timings['history via the ORM'] - bare) / max(fast - bare, 0.01):.1f}x")  # fmt: skip

    sample = list(Member.objects.order_by("pk")[: args.naive_sample])
    started = time.monotonic()
    for member in sample:
        member.name = member.name[:20] + "丙"
        note(member, source="command", reason="naive")
        member.save()
    naive_rate = len(sample) / (time.monotonic() - started)
    naive_full = result.updated / naive_rate
    print(f"naive (save per member) {naive_rate:8,.0f} members/s on {len(sample):,}; "
          f"{result.updated:,} ≈ {naive_full:,.0f} s: the update is {naive_full / fast:.1f}x "
          "faster")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
