"""Issue one coupon to each of 1,000,000 members: set-based per chunk (coupons.services.
issue_coupons) against the naive per-member ORM loop (look for the member's coupon, lock and
check the holding and the template's total, create the coupon, its event, save the counts; one
transaction per member) on a sample, in the same run. Target (issue 13): the million in at
most 60 s, and at least 20x the loop's rate.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/coupons_issue.py \
        [--members 1000000] [--sample 2000] [--chunk-size 5000]

Runs in a scratch database `<db>_coupons` next to the one in DATABASE_URL (dropped, created
and migrated first). Members are generated set-based in SQL (generate_series), every column
from the model's own defaults.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import fresh_database  # noqa: E402

if "--help" not in sys.argv and "-h" not in sys.argv:
    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_coupons"))

import django  # noqa: E402

django.setup()

from decimal import Decimal  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from coupons.models import Coupon, CouponEvent, CouponHolding, CouponTemplate  # noqa: E402
from coupons.selectors import holding_differences, template_count_differences  # noqa: E402
from coupons.services import issue_coupons, save_coupon_template, validity_for  # noqa: E402
from members.models import Member  # noqa: E402
from stores.models import Store  # noqa: E402

# Columns a generated member gets from SQL instead of the model's default.
GENERATED = {
    "member_no": "'BM' || lpad(n::text, 8, '0')",
    "phone": "'17' || lpad(n::text, 9, '0')",
    "name": "'会员' || n",
    "opened_at": "now()",
}


def generate_members(count, store):
    """`count` members in one INSERT ... SELECT, each column from GENERATED or its default."""
    columns, values, params = [], [], []
    for field in Member._meta.concrete_fields:
        if field.primary_key or field.generated:
            continue
        columns.append(f'"{field.column}"')
        if field.name in GENERATED:
            values.append(GENERATED[field.name])
        elif field.name == "home_store":
            values.append("%s")
            params.append(store.pk)
        else:
            values.append("%s")
            default = field.get_default()
            params.append(field.get_db_prep_save(default, connection))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{Member._meta.db_table}" ({", ".join(columns)}) '
            f"SELECT {', '.join(values)} FROM generate_series(1, %s) n",
            [*params, count],
        )
        cursor.execute(f'ANALYZE "{Member._meta.db_table}"')


def template(code):
    found = CouponTemplate(code=code, name="满50减10")
    save_coupon_template(
        template=found, terms={"face_value": Decimal("10"), "threshold": Decimal("50")}
    )
    return found


def naive_issue(template, member_ids):
    """The loop the issue names as the baseline: per member, one transaction that checks and
    writes through the ORM, row by row."""
    version = template.current_version
    at = timezone.now()
    valid_from, valid_until = validity_for(version, at)
    for member_id in member_ids:
        with transaction.atomic():
            key = f"{template.pk}:{member_id}:naive"
            if Coupon.objects.filter(issue_key=key).exists():
                continue
            locked = CouponTemplate.objects.select_for_update().get(pk=template.pk)
            if locked.total_quantity is not None and locked.issued >= locked.total_quantity:
                continue
            holding, _ = CouponHolding.objects.select_for_update().get_or_create(
                template=template, member_id=member_id
            )
            if holding.held >= locked.per_member_limit:
                continue
            coupon = Coupon.objects.create(
                code=f"N{member_id:012d}",
                template=template,
                version=version,
                owner_id=member_id,
                valid_from=valid_from,
                valid_until=valid_until,
                issue_key=key,
                issued_at=at,
            )
            CouponEvent.objects.create(
                coupon=coupon, kind=CouponEvent.Kind.ISSUED, source="command"
            )
            holding.held += 1
            holding.save(update_fields=["held"])
            locked.issued += 1
            locked.save(update_fields=["issued"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=5000)
    args = parser.parse_args()
    print(f"database: {connection.settings_dict['NAME']}")
    store = Store.objects.create(code="BENCH1", name="压测门店")

    started = time.perf_counter()
    generate_members(args.members, store)
    print(f"members generated: {args.members:,} in {time.perf_counter() - started:.1f} s")

    ids = list(Member.objects.order_by("pk").values_list("pk", flat=True)[: args.sample])
    naive = template("NAIVE")
    started = time.perf_counter()
    naive_issue(naive, ids)
    naive_seconds = time.perf_counter() - started
    naive_rate = len(ids) / naive_seconds
    print(
        f"naive per-member ORM loop: {len(ids):,} members in {naive_seconds:.1f} s "
        f"({naive_rate:,.0f} members/s)"
    )

    bulk = template("BULK")
    started = time.perf_counter()
    result = issue_coupons(
        template=bulk,
        members=Member.objects.all(),
        occasion="bench",
        source="command",
        chunk_size=args.chunk_size,
    )
    seconds = time.perf_counter() - started
    rate = result.issued / seconds
    print(
        f"set-based issue_coupons: {result.issued:,} coupons in {seconds:.1f} s "
        f"({rate:,.0f} members/s, chunks of {args.chunk_size:,})"
    )
    print(f"ratio: {rate / naive_rate:.1f}x the naive loop (target >= 20x)")
    print(
        f"target: {args.members:,} members in <= 60 s: "
        f"{'met' if seconds <= 60 and result.issued == args.members else 'MISSED'}"
    )

    started = time.perf_counter()
    again = issue_coupons(
        template=bulk, members=Member.objects.all(), occasion="bench", source="command",
        chunk_size=args.chunk_size,
    )  # fmt: skip
    print(
        f"rerun of the same occasion: {again.issued} issued in "
        f"{time.perf_counter() - started:.1f} s"
    )
    bulk.refresh_from_db()
    problems = len(template_count_differences()) + len(holding_differences())
    print(f"template issued count: {bulk.issued:,}; ledger differences: {problems}")


if __name__ == "__main__":
    main()
