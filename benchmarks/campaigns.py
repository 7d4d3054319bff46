"""Campaigns over 1,000,000 members on PostgreSQL, each path against its naive per-member ORM loop
measured on a sample in the same run (issue 14):

- refresh the member statistics of 1,000,000 members: target <= 120 s;
- freeze and assign a 1,000,000-member audience (the launch of a campaign): target <= 30 s;
- the report of a campaign over 1,000,000 members: target <= 5 s.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/campaigns.py \
        [--members 1000000] [--sample 2000] [--chunk-size 100000]

The run happens in a scratch database `<db>_campaigns` next to the one in DATABASE_URL (dropped
and created first, migrated), so it commits like production does and touches nothing else. Data
is generated set-based in SQL (generate_series): 50 stores, three tiers, the members with a
points account each, 0 to 11 purchases per member over the last 400 days (about 5.5 purchases
each on average), a points lot for every other member (some expiring within 30 days) and an
unused coupon for every third member.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import fresh_database  # noqa: E402

if "--help" not in sys.argv and "-h" not in sys.argv:
    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_campaigns"))

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns import tasks as campaign_tasks  # noqa: E402
from campaigns.assignment import bucket  # noqa: E402
from campaigns.lift import Sums, lift  # noqa: E402
from campaigns.models import Campaign, CampaignMember, MemberStats, Segment  # noqa: E402
from campaigns.report import campaign_report  # noqa: E402
from campaigns.segments import member_queryset  # noqa: E402
from campaigns.services import PRE_DAYS, launch_campaign, save_segment  # noqa: E402
from campaigns.statistics import refresh_member_stats  # noqa: E402
from coupons.models import Coupon  # noqa: E402
from coupons.services import save_coupon_template  # noqa: E402
from loyalty.models import PointsLot  # noqa: E402
from members.models import Tier  # noqa: E402
from sales.models import Refund, Sale  # noqa: E402

NOW = timezone.now()
LAUNCH = NOW - timedelta(days=30)


def sql(statement, params=None):
    with connection.cursor() as cursor:
        if params is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, params)
        return cursor.rowcount


def timed(label, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s")
    return result, seconds


def generate(members):
    """Stores, tiers, members, accounts, purchases, lots and coupons, set-based."""
    started = time.perf_counter()
    now = NOW.isoformat()
    sql(
        """INSERT INTO stores_store (code, name, kind, city, address, phone, is_active)
           SELECT 'BS' || lpad(i::text, 3, '0'), '压测门店' || i,
                  CASE WHEN i % 5 = 0 THEN 'franchise' ELSE 'direct' END, '上海', '', '', true
           FROM generate_series(1, 50) i"""
    )
    Tier.objects.create(code="normal", name="普通会员", rank=0, is_default=True)
    Tier.objects.create(code="silver", name="银卡会员", rank=1, upgrade_spend=Decimal("1000"))
    Tier.objects.create(code="gold", name="金卡会员", rank=2, upgrade_spend=Decimal("5000"))
    timed(
        "members",
        lambda: sql(
            f"""INSERT INTO members_member (member_no, phone, name, name_initials, gender,
                   birthday, email, address, home_store_id, tier_id, status, source, notes,
                   opened_at)
               SELECT 'B' || lpad(i::text, 9, '0'), '15' || lpad(i::text, 9, '0'), '会员' || i,
                      'hy', CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END,
                      date '1960-01-01' + (i * 37) % 16000, '', '',
                      (SELECT min(id) FROM stores_store) + i % 50,
                      (SELECT id FROM loyalty_tier WHERE rank = (i % 7) / 3),
                      'active', 'import', '', timestamptz '{now}' - interval '500 days'
               FROM generate_series(1, {members}) i"""
        ),
    )
    sql(
        """INSERT INTO loyalty_pointsaccount (member_id, balance, lifetime_earned,
               lifetime_redeemed, lifetime_expired, updated_at)
           SELECT id, 0, 0, 0, 0, now() FROM members_member"""
    )
    # 0..11 purchases per member over 400 days; amounts 20..199 yuan.
    timed(
        "purchases",
        lambda: sql(
            f"""INSERT INTO loyalty_sale (store_id, member_id, receipt_no, total, offset_amount,
                   coupon_discount, amount_due, stored_value_amount, points_earned,
                   points_redeemed, breakdown, points_after, stored_value_after,
                   referral_bonus, fingerprint, source, created_at)
               SELECT m.home_store_id, m.id, 'R' || m.id || '-' || n, a.amount, 0, 0, a.amount,
                      0, 0, 0, '{{}}', 0, 0, false, '', 'till',
                      timestamptz '{now}' - ((m.id * 7 + n * 37) % 400) * interval '1 day'
                          - (n % 9) * interval '1 hour'
               FROM members_member m
               CROSS JOIN LATERAL generate_series(1, (m.id * 31) % 12) n
               CROSS JOIN LATERAL (SELECT (20 + (m.id * 13 + n * 7) % 180)::numeric AS amount) a"""
        ),
    )
    timed(
        "last visits",
        lambda: sql(
            """UPDATE members_member m SET last_visit_at = s.last
               FROM (SELECT member_id, max(created_at) AS last FROM loyalty_sale
                     GROUP BY member_id) s
               WHERE s.member_id = m.id"""
        ),
    )
    timed(
        "points lots",
        lambda: (
            sql(
                f"""INSERT INTO loyalty_pointsentry (account_id, kind, points, balance_after,
                       source, reason, reference, created_at)
                   SELECT a.id, 'opening', 100 + a.id % 400, 100 + a.id % 400, 'command', '',
                          'bench', timestamptz '{now}' - interval '200 days'
                   FROM loyalty_pointsaccount a WHERE a.id % 2 = 0"""
            ),
            sql(
                f"""INSERT INTO loyalty_pointslot (account_id, entry_id, points, remaining,
                       earned_at, expires_at)
                   SELECT e.account_id, e.id, e.points, e.points, e.created_at,
                          timestamptz '{now}' + (e.id % 90) * interval '1 day'
                   FROM loyalty_pointsentry e WHERE e.reference = 'bench'"""
            ),
        ),
    )
    from coupons.models import CouponTemplate

    template = CouponTemplate(code="BENCH5", name="压测券")
    save_coupon_template(
        template=template, terms={"kind": "cash", "face_value": Decimal("5"), "valid_days": 30}
    )
    timed(
        "coupons",
        lambda: sql(
            f"""INSERT INTO coupons_coupon (code, template_id, version_id, owner_id, status,
                   valid_from, valid_until, issue_key, issued_at, used_reference)
               SELECT 'B' || upper(substr(md5(m.id::text), 1, 12)), {template.pk},
                      {template.current_version_id}, m.id, 'available',
                      timestamptz '{now}' - interval '5 days',
                      timestamptz '{now}' + interval '25 days',
                      '{template.pk}:' || m.id || ':bench', timestamptz '{now}', ''
               FROM members_member m WHERE m.id % 3 = 0"""
        ),
    )
    for table in ("members_member", "loyalty_sale", "loyalty_pointslot", "coupons_coupon",
                  "loyalty_pointsaccount", "loyalty_pointsentry"):  # fmt: skip
        sql(f"ANALYZE {table}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM loyalty_sale")
        sales = cursor.fetchone()[0]
    return sales, time.perf_counter() - started


# --- the naive per-member ORM loops -------------------------------------------------------------


def naive_stats(member_ids, as_of):
    """What a first version would do: a handful of ORM queries per member, then a save."""
    for member_id in member_ids:
        sales = Sale.objects.filter(member_id=member_id, created_at__lt=as_of)
        values = {}
        for days in (30, 90, 365):
            window = sales.filter(created_at__gte=as_of - timedelta(days=days))
            found = window.aggregate(total=Sum("amount_due"), n=Count("id"))
            refunded = Refund.objects.filter(
                member_id=member_id, created_at__gte=as_of - timedelta(days=days),
                created_at__lt=as_of,
            ).aggregate(total=Sum("amount_due"))["total"] or 0  # fmt: skip
            moments = window.values_list("created_at", flat=True)
            values[f"visits_{days}"] = len({timezone.localdate(t) for t in moments})
            values[f"spend_{days}"] = max((found["total"] or 0) - refunded, 0)
            if days == 365:
                values["avg_ticket"] = (found["total"] / found["n"]) if found["n"] else None
        days = sorted(
            {timezone.localdate(t) for t in sales.filter(
                created_at__gte=as_of - timedelta(days=730)).values_list("created_at", flat=True)}
        )  # fmt: skip
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)][-12:]
        values["median_gap_days"] = statistics.median(gaps) if gaps else None
        favourite = (
            sales.filter(created_at__gte=as_of - timedelta(days=365))
            .values("store_id").annotate(n=Count("id")).order_by("-n", "store_id").first()
        )  # fmt: skip
        values["favourite_store_id"] = favourite["store_id"] if favourite else None
        values["points_expiring_30"] = PointsLot.objects.filter(
            account__member_id=member_id, remaining__gt=0, expires_at__gt=as_of,
            expires_at__lte=as_of + timedelta(days=30),
        ).aggregate(total=Sum("remaining"))["total"] or 0  # fmt: skip
        values["unused_coupons"] = Coupon.objects.filter(
            owner_id=member_id, status="available", valid_until__gte=as_of
        ).count()
        MemberStats.objects.update_or_create(member_id=member_id, defaults=values)


def naive_freeze(campaign, definition, limit, at):
    """Member by member: read the segment, hash, sum the pre-period spend, insert."""
    done = 0
    for member_id in member_queryset(definition, at=at).order_by("pk").values_list(
        "pk", flat=True
    )[:limit]:
        b = bucket(campaign.salt, member_id)
        pre = Sale.objects.filter(
            member_id=member_id, created_at__gte=at - timedelta(days=PRE_DAYS), created_at__lt=at
        ).aggregate(total=Sum("amount_due"))["total"] or 0
        CampaignMember.objects.create(
            campaign=campaign,
            member_id=member_id,
            enrolled_on=timezone.localdate(at),
            enrolled_at=at,
            arm="control" if b < campaign.control_buckets else "treatment",
            bucket=b,
            pre_spend=pre,
        )
        done += 1
    return done


def naive_report(campaign, limit):
    """Entry by entry: the window's sales and visits through the ORM, statistics in Python."""
    ys = {"treatment": [], "control": []}
    xs = {"treatment": [], "control": []}
    entries = CampaignMember.objects.filter(campaign=campaign).order_by("pk")[:limit]
    for entry in entries:
        window = Sale.objects.filter(
            member_id=entry.member_id,
            created_at__gte=entry.enrolled_at,
            created_at__lt=entry.enrolled_at + timedelta(days=campaign.measure_days),
        )
        total = window.aggregate(total=Sum("amount_due"))["total"] or 0
        refunded = Refund.objects.filter(sale__in=window).aggregate(t=Sum("amount_due"))["t"] or 0
        len({timezone.localdate(t) for t in window.values_list("created_at", flat=True)})
        ys[entry.arm].append(float(total - refunded))
        xs[entry.arm].append(float(entry.pre_spend))
    return lift(Sums.of(ys["treatment"], xs["treatment"]), Sums.of(ys["control"], xs["control"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    args = parser.parse_args()
    print(f"database: {connection.settings_dict['NAME']}")
    print("generating:")
    sales, seconds = generate(args.members)
    print(f"generated {args.members:,} members and {sales:,} purchases in {seconds:.1f} s")

    # 1. Statistics.
    sample_ids = list(range(1, args.members + 1, max(args.members // args.sample, 1)))[
        : args.sample
    ]
    started = time.perf_counter()
    naive_stats(sample_ids, NOW)
    naive_seconds = time.perf_counter() - started
    naive_rate = len(sample_ids) / naive_seconds
    MemberStats.objects.all().delete()
    started = time.perf_counter()
    run = refresh_member_stats(source="command", chunk_size=args.chunk_size, as_of=NOW)
    stats_seconds = time.perf_counter() - started
    stats_rate = run.members / stats_seconds
    print(
        f"\nstatistics, naive per-member ORM loop: {len(sample_ids):,} members in "
        f"{naive_seconds:.1f} s = {naive_rate:,.0f} members/s (1,000,000 would take "
        f"~{1_000_000 / naive_rate / 60:,.0f} min)"
    )
    print(
        f"statistics, set-based refresh: {run.members:,} members in {stats_seconds:.1f} s = "
        f"{stats_rate:,.0f} members/s (chunks of {args.chunk_size:,})"
    )
    print(f"ratio: {stats_rate / naive_rate:,.0f}x; target <= 120 s: "
          f"{'met' if stats_seconds <= 120 else 'MISSED'}")  # fmt: skip

    # 2. Freeze and assign.
    segment = save_segment(segment=Segment(name="全体"), definition={"all": []})
    naive_campaign = Campaign.objects.create(
        code="NAIVE", name="naive", segment=segment, offer="coupon",
        coupon_template_id=Coupon.objects.values_list("template_id", flat=True).first(),
    )  # fmt: skip
    started = time.perf_counter()
    with transaction.atomic():
        done = naive_freeze(naive_campaign, segment.definition, args.sample, LAUNCH)
    naive_seconds = time.perf_counter() - started
    naive_rate = done / naive_seconds
    campaign = Campaign.objects.create(
        code="BENCH", name="压测活动", segment=segment, offer="coupon",
        coupon_template_id=naive_campaign.coupon_template_id,
    )  # fmt: skip
    # The coupons themselves are issuing's own benchmark (issue 13): only the launch here.
    campaign_tasks.deliver_offers_task.delay = lambda *args, **kwargs: None
    started = time.perf_counter()
    launch_campaign(campaign=campaign, source="command", at=LAUNCH)
    freeze_seconds = time.perf_counter() - started
    campaign.refresh_from_db()
    freeze_rate = campaign.audience / freeze_seconds
    print(
        f"\nfreeze + assign, naive per-member loop: {done:,} members in {naive_seconds:.1f} s"
        f" = {naive_rate:,.0f} members/s"
    )
    print(
        f"freeze + assign, set-based launch: {campaign.audience:,} members "
        f"({campaign.treatment:,} treatment / {campaign.control:,} control) in "
        f"{freeze_seconds:.1f} s = {freeze_rate:,.0f} members/s"
    )
    print(f"ratio: {freeze_rate / naive_rate:,.0f}x; target <= 30 s: "
          f"{'met' if freeze_seconds <= 30 else 'MISSED'}")  # fmt: skip

    # 3. The report.
    sql("ANALYZE campaigns_campaignmember")
    started = time.perf_counter()
    naive = naive_report(campaign, args.sample)
    naive_seconds = time.perf_counter() - started
    naive_rate = args.sample / naive_seconds
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        report = campaign_report(campaign, as_of=NOW)
        timings.append(time.perf_counter() - started)
    report_seconds = statistics.median(timings)
    report_rate = campaign.audience / report_seconds
    print(
        f"\nreport, naive per-member loop: {args.sample:,} members in {naive_seconds:.1f} s = "
        f"{naive_rate:,.0f} members/s (lift on the sample {naive['lift']})"
    )
    print(
        f"report, set-based: {campaign.audience:,} members in "
        f"{', '.join(f'{t:.2f}' for t in timings)} s (median {report_seconds:.2f} s)"
    )
    print(f"ratio: {report_rate / naive_rate:,.0f}x; target <= 5 s: "
          f"{'met' if report_seconds <= 5 else 'MISSED'}")  # fmt: skip
    started = time.perf_counter()
    campaign_report(campaign, as_of=NOW, series=True)
    print(f"report with the by-day series (the admin page): {time.perf_counter() - started:.2f} s")
    print(
        f"report figures: arms {report['arms']['treatment']['members']:,} / "
        f"{report['arms']['control']['members']:,}, lift {report['lift']}, "
        f"CI {report['lift_ci']}, SRM p {report['srm_p_value']}, CUPED {report['cuped']}"
    )


if __name__ == "__main__":
    main()
