"""Benchmark: import a member file with messy values (xlsx or CSV), on PostgreSQL.

    DATABASE_URL=postgres://user:pass@127.0.0.1:5432/any_db .venv/bin/python \
        benchmarks/import_members.py [--rows 100000] [--format xlsx|csv] [--naive-sample 2000]

Targets (issue 16): 100,000 rows <= 10 s; 1,000,000 rows (CSV, and a 1,000,000-row xlsx)
<= 120 s end to end with peak memory <= 1 GB.

Creates (and drops first) a scratch database `<db>_bench` next to the one in DATABASE_URL,
migrates it, then in separate child processes (so peak memory is measured per run with
resource.getrusage(RUSAGE_CHILDREN)):
  1. the fast path: members.importing.import_members on the whole workbook
     (calamine -> normalizers -> COPY -> set-based inserts, ledgers and lots included);
  2. the naive path: a default django-import-export ModelResource saving row by row, as the
     admin does it (dry run, then the import), on a sample, extrapolated to the full file.
Prints both and the ratio. Writes the workbook to benchmarks/out/ (reused if present).
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scratch import fresh_database  # noqa: E402

HEADERS = ["手机号", "姓名", "性别", "生日", "邮箱", "地址", "会员等级", "积分", "储值余额",
           "开卡门店", "推荐人手机号", "会员卡号", "备注"]  # fmt: skip
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def messy_phone(number, rng):
    text = str(number)
    form = rng.randrange(7)
    if form == 0:
        return number  # numeric cell
    if form == 1:
        return f"+86 {text}"
    if form == 2:
        return f"{text[:3]} {text[3:7]} {text[7:]}"
    if form == 3:
        return f"{text[:3]}-{text[3:7]}-{text[7:]}"
    if form == 4:
        return text.translate(FULLWIDTH)
    if form == 5:
        return f"86{text}"
    return text


def messy_birthday(rng):
    import datetime as dt

    day = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    form = rng.randrange(6)
    if form == 0:
        return dt.datetime(day.year, day.month, day.day)
    if form == 1:
        return day.isoformat()
    if form == 2:
        return f"{day.year}/{day.month}/{day.day}"
    if form == 3:
        return f"{day.year}年{day.month}月{day.day}日"
    if form == 4:
        return day.strftime("%Y%m%d")
    return None


def generate(path, rows, seed=7):
    if path.suffix == ".csv":
        import csv
        import datetime as dt

        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            for row in _rows(rows, seed):
                writer.writerow(
                    [v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else v for v in row]
                )
        return
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("会员")
    sheet.append(HEADERS)
    for row in _rows(rows, seed):
        sheet.append(row)
    workbook.save(path)


def _rows(rows, seed):
    rng = random.Random(seed)
    genders = ["男", "女", "M", "F", "male", "female", "未知", None]
    stores = ["SH001", "sh002", "BJ001", "GZ001"]
    tiers = ["普通会员", "银卡会员", None]
    phones = []
    for i in range(rows):
        roll, bad = rng.random(), rng.random()
        if roll < 0.005:
            yield [None] * len(HEADERS)  # blank row
            continue
        number = 13000000000 + i * 7 + 11
        phone = messy_phone(number, rng)
        if roll < 0.015 and phones:
            phone = rng.choice(phones)  # duplicate in the file
        elif roll < 0.025:
            phone = "1381234"  # invalid
        phones.append(number)
        points = rng.randrange(0, 20000)
        money = rng.randrange(0, 100000) / 100
        yield (
            [
                phone,
                "张伟李娜王芳刘洋陈静"[rng.randrange(10)] + "明华"[rng.randrange(2)],
                rng.choice(genders),
                messy_birthday(rng) if bad > 0.01 else "1990-02-30",
                f"m{i}@example.com" if rng.random() < 0.3 else None,
                "上海市徐汇区漕溪北路88号" if rng.random() < 0.5 else None,
                rng.choice(tiers),
                f"{points:,}" if rng.random() < 0.3 else points,
                f"¥{money:,.2f}" if rng.random() < 0.3 else money,
                rng.choice(stores) if bad < 0.01 or bad > 0.02 else "XX999",
                phones[rng.randrange(len(phones) - 1)] if i > 10 and rng.random() < 0.05 else None,
                None,
                "老系统导入" if rng.random() < 0.1 else None,
            ]
        )


# ------------------------------------------------------------------------ child processes


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _seed():
    from members.models import Tier
    from seeds.chain import seed_chain

    seed_chain()
    Tier.objects.get_or_create(code="normal", defaults={"name": "普通会员", "rank": 1,
                                                        "is_default": True})  # fmt: skip
    Tier.objects.get_or_create(code="silver", defaults={"name": "银卡会员", "rank": 2})


def child_fast(path):
    _django()
    _seed()
    from django.core.management import call_command

    from members.importing.members import import_members

    # End to end as an operator runs it: the management command (file in, report out).
    started = time.monotonic()
    result = import_members(path, source_kind="command")
    import_seconds = time.monotonic() - started
    report = OUT / f"errors-{Path(path).name}.xlsx"
    from members.importing.members import write_error_report

    write_error_report(result, report)
    seconds = time.monotonic() - started
    call_command("check_ledgers", verbosity=0)  # raises if any balance disagrees
    print(json.dumps({
        "seconds": seconds, "import_seconds": import_seconds,
        "rows_read": result.rows_read, "imported": result.imported,
        "rejected": result.rejected, "duplicates": result.duplicates,
        "summary": result.summary(),
    }))  # fmt: skip


def child_naive(sample):
    _django()
    _seed()
    import tablib

    from members.resources import NaiveMemberResource
    from stores.models import Store

    store = Store.objects.get(code="SH001").pk
    data = tablib.Dataset(headers=["手机号", "姓名", "member_no", "home_store"])
    for i in range(sample):
        data.append([str(17000000000 + i), "张伟", f"N{i:09d}", store])
    started = time.monotonic()
    # What the admin's import does by default: a dry run for the preview, then the import.
    for dry_run in (True, False):
        result = NaiveMemberResource().import_data(data, dry_run=dry_run, raise_errors=True)
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": seconds, "rows": sample, "totals": dict(result.totals)}))


def run_child(kind, arg, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(arg)],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if output.returncode:
        sys.exit(output.stdout + output.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    data = json.loads(output.stdout.strip().splitlines()[-1])
    data["peak_mb"] = max(peak, before) / 1024  # ru_maxrss is in KiB on Linux
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--skip-naive", action="store_true", help="fast path only")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        kind, arg = args.child
        return child_fast(arg) if kind == "fast" else child_naive(int(arg))

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"members-{args.rows}.{args.format}"
    if not path.exists():
        started = time.monotonic()
        generate(path, args.rows)
        print(f"generated {path.name} in {time.monotonic() - started:.1f} s")

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    fast = run_child("fast", path, fresh_database(url))
    fast_rate = fast["rows_read"] / fast["seconds"]
    print(f"rows in file            {args.rows:>10,} ({path.name}, {path.stat().st_size >> 20} MB)")
    print(f"fast path               {fast['seconds']:>10.1f} s  {fast_rate:>8,.0f} rows/s  "
          f"peak {fast['peak_mb']:,.0f} MB (the import without the report: "
          f"{fast['import_seconds']:.1f} s)")  # fmt: skip
    print(f"  {fast['summary']}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    limit = 10 if args.rows <= 100_000 else 120
    print(
        f"targets: <= {limit} s end to end: {'OK' if fast['seconds'] <= limit else 'MISSED'}; "
        f"<= 1 GB: {'OK' if fast['peak_mb'] <= 1024 else 'MISSED'}"
    )
    if args.skip_naive:
        return
    naive = run_child("naive", args.naive_sample, fresh_database(url))
    naive_rate = naive["rows"] / naive["seconds"]
    naive_full = args.rows / naive_rate
    print(f"naive (import-export)   {naive['seconds']:>10.1f} s for {naive['rows']:,} rows "
          f"(dry run + import) = {naive_rate:,.0f} rows/s; {args.rows:,} rows ≈ "
          f"{naive_full:,.0f} s")  # fmt: skip
    print(f"ratio                   {naive_full / fast['seconds']:>10.1f}x faster than naive")


if __name__ == "__main__":
    main()
