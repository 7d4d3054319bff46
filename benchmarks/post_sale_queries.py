"""post_sale query count and speed: earning (with a member-day multiplier), a redemption and
an instant tier upgrade on every sale. Budget: at most 15 queries per sale (issue 4). Then the
same sale with two coupons (a percent coupon on the fresh line and 满50减10 on the order) for
as many other members: at most 4 queries more than without (issue 13).

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/post_sale_queries.py [--sales 300]

Runs in a scratch database `<db>_queries` next to the one in DATABASE_URL (dropped, created and
migrated first), inside one transaction that is rolled back. Inside that transaction each
post_sale adds a SAVEPOINT and a RELEASE (in production they are the BEGIN and COMMIT of the
request): both counts are printed.
"""

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import fresh_database  # noqa: E402

if "--help" not in sys.argv and "-h" not in sys.argv:
    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_queries"))

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from loyalty.ledger import open_account, post_points_entry  # noqa: E402
from loyalty.models import EarningRule, ExpiryPolicy, RedemptionRule  # noqa: E402
from members.models import Member, Tier  # noqa: E402
from sales.services import post_sale  # noqa: E402
from stores.models import Store  # noqa: E402

WEDNESDAY = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class Rollback(Exception):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=300)
    args = parser.parse_args()
    print(f"database: {connection.settings_dict['NAME']}")
    try:
        with transaction.atomic():
            run(args.sales)
            raise Rollback
    except Rollback:
        pass


def run(n):
    store, _ = Store.objects.get_or_create(code="BENCH1", defaults={"name": "压测门店"})
    Tier.objects.all().update(is_default=False)
    base = Tier.objects.create(code="b-normal", name="普通", rank=900, is_default=True)
    Tier.objects.create(code="b-silver", name="银卡", rank=901, upgrade_spend=Decimal("1000"))
    EarningRule.objects.update(is_active=False)
    RedemptionRule.objects.update(is_active=False)
    EarningRule.objects.create(name="每元1分", kind="per_amount", points=1)
    EarningRule.objects.create(name="会员日", kind="multiplier", multiplier=2, weekdays="3")
    RedemptionRule.objects.create(name="100抵1", points_per_yuan=100, max_share_percent=50)
    ExpiryPolicy.objects.create(
        name="次年年底", mode="year_end", periods_after=1, start_date=date(2000, 1, 1)
    )
    members = Member.objects.bulk_create(
        [
            Member(member_no=f"BENCH{i:06d}", phone=f"199{i:08d}", home_store=store, tier=base)
            for i in range(2 * n)
        ]
    )
    for member in members:
        open_account(member)
        post_points_entry(member=member, points=5000, kind="opening", source="command")
    plain, with_coupons = members[:n], members[n:]
    codes = issue_two_coupons(with_coupons)

    counts, statements, elapsed = sell(store, plain, "B", {})
    print(f"sales posted: {n} (each: 2 lines, 3,000 points redeemed, member-day x2, upgrade)")
    print(
        f"queries per post_sale: max {max(counts)} (incl. SAVEPOINT/RELEASE), "
        f"max {max(statements)} statements without them; budget 15"
    )
    print(f"time: {elapsed / n * 1000:.2f} ms per sale, {n / elapsed:.0f} sales/s (one thread)")

    c_counts, c_statements, c_elapsed = sell(store, with_coupons, "C", codes)
    # The first sale of the run also loads the rule book: compare the sales after it.
    extra = max(c_statements[1:]) - max(statements[1:])
    print(f"the same sales with two coupons each, for {n} other members:")
    print(
        f"queries per post_sale: max {max(c_counts)} (incl. SAVEPOINT/RELEASE), "
        f"max {max(c_statements)} statements without them; after the first sale of each kind: "
        f"{max(statements[1:])} without coupons, {max(c_statements[1:])} with two coupons: "
        f"{extra:+d} (budget +4)"
    )
    print(
        f"time: {c_elapsed / n * 1000:.2f} ms per sale, {n / c_elapsed:.0f} sales/s (one thread); "
        f"{(n / c_elapsed) / (n / elapsed):.0%} of the plain sale's rate"
    )


def issue_two_coupons(members):
    """A 10% fresh-food coupon and 满50减10 for each member: {member id: [codes]}."""
    from coupons.models import Coupon, CouponTemplate, CouponTemplateVersion
    from coupons.services import issue_coupons, save_coupon_template

    V = CouponTemplateVersion
    fresh = CouponTemplate(code="B-FRESH", name="生鲜9折")
    save_coupon_template(
        template=fresh,
        terms={"kind": V.Kind.PERCENT, "percent_off": Decimal("10"), "cap": Decimal("200"),
               "scope": V.Scope.CATEGORIES, "categories": "fresh"},
    )  # fmt: skip
    cash = CouponTemplate(code="B-CASH", name="满50减10")
    save_coupon_template(
        template=cash, terms={"face_value": Decimal("10"), "threshold": Decimal("50")}
    )
    at = WEDNESDAY - timedelta(days=1)
    for template in (fresh, cash):
        issue_coupons(template=template, members=members, occasion="bench", source="command", at=at)
    codes = {}
    for owner, code in Coupon.objects.filter(owner__in=members).values_list("owner", "code"):
        codes.setdefault(owner, []).append(code)
    return codes


def sell(store, members, prefix, codes):
    counts, statements = [], []
    started = time.perf_counter()
    for i, member in enumerate(members):
        with CaptureQueriesContext(connection) as queries:
            sale = post_sale(
                store=store,
                member=member,
                receipt_no=f"{prefix}{i}",
                lines=[
                    {"sku": "A", "category": "fresh", "qty": 1, "amount": Decimal("800.00")},
                    {"sku": "B", "category": "grocery", "qty": 2, "amount": Decimal("400.00")},
                ],
                total=Decimal("1200.00"),
                source="till",
                redeem_points=3000,
                coupon_codes=codes.get(member.pk, []),
                at=WEDNESDAY,
            )
        assert sale.points_redeemed == 3000 and sale.tier_changed and sale.points_earned
        assert bool(sale.coupon_discount) == bool(codes)
        sqls = [q["sql"] for q in queries.captured_queries]
        if os.environ.get("SHOW_QUERIES") and i == len(members) - 1:
            for q in queries.captured_queries:
                print(f"  {q['time']} {q['sql'][:160]}")
        counts.append(len(sqls))
        statements.append(sum(1 for s in sqls if "SAVEPOINT" not in s.upper()))
    return counts, statements, time.perf_counter() - started


if __name__ == "__main__":
    main()
