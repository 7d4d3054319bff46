"""Member statistics: visits and spend over their windows, the personal lapse rhythm, RFM cells,
favourite store, points expiring, unused coupons, visits short of the next tier; chunked runs
agree with a single pass; reruns change nothing; one run at a time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections

from campaigns.models import LapseStage, MemberStats, RfmCell, StatsRun
from campaigns.statistics import LOCK_KEY, StatsRefreshRunning, refresh_member_stats
from core.models import Source
from coupons.services import issue_coupon
from loyalty.ledger import post_points_entry
from loyalty.models import PointsEntry
from sales.services import refund_sale
from tests.campaigns.conftest import NOW, buy, days_ago

pytestmark = pytest.mark.usefixtures("rules")


def refresh(**kwargs):
    return refresh_member_stats(as_of=NOW, source=Source.COMMAND, **kwargs)


def stats_of(member):
    return MemberStats.objects.get(member=member)


def test_it_counts_visits_and_spend_over_30_90_and_365_days(member):
    buy(member, "40.00", days_ago(400))
    buy(member, "30.00", days_ago(200))
    buy(member, "20.00", days_ago(50))
    buy(member, "10.00", days_ago(10, hour=9))
    buy(member, "5.00", days_ago(10, hour=18))  # the same day: one visit, two purchases

    refresh()

    s = stats_of(member)
    assert (s.visits_30, s.visits_90, s.visits_365) == (1, 2, 3)
    assert (s.spend_30, s.spend_90, s.spend_365) == (
        Decimal("15.00"),
        Decimal("35.00"),
        Decimal("65.00"),
    )
    assert s.avg_ticket == Decimal("16.25")  # ¥65 over four purchases in the year
    assert s.recency_days == 10


def test_spend_is_net_of_refunds(member):
    sale = buy(member, "100.00", days_ago(5))
    refund_sale(sale=sale, refund_no="F1", source=Source.TILL, at=days_ago(4))

    refresh()

    s = stats_of(member)
    assert s.spend_30 == Decimal("0.00")
    assert s.visits_30 == 1  # the visit happened


def test_lapse_is_measured_against_the_members_own_rhythm(make_member, tiers):
    weekly = make_member(tier=tiers["normal"])
    monthly = make_member(tier=tiers["normal"])
    for week in range(10, 0, -1):
        buy(weekly, "30.00", days_ago(25 + 7 * week))
    buy(weekly, "30.00", days_ago(25))
    for month in range(6, 0, -1):
        buy(monthly, "80.00", days_ago(25 + 30 * month))
    buy(monthly, "80.00", days_ago(25))

    refresh()

    # 25 days without a visit: three weekly gaps and more (flagged), under one monthly one.
    assert stats_of(weekly).median_gap_days == Decimal("7.0")
    assert stats_of(weekly).lapse_stage == LapseStage.WARNING
    assert stats_of(monthly).median_gap_days == Decimal("30.0")
    assert stats_of(monthly).lapse_stage == LapseStage.ACTIVE


def test_a_monthly_shopper_is_flagged_at_about_three_months(make_member, tiers):
    almost = make_member(tier=tiers["normal"])
    over = make_member(tier=tiers["normal"])
    for member, last in ((almost, 88), (over, 92)):
        for month in range(6, 0, -1):
            buy(member, "80.00", days_ago(last + 30 * month))
        buy(member, "80.00", days_ago(last))

    refresh()

    assert stats_of(almost).lapse_stage == LapseStage.ACTIVE
    assert stats_of(over).lapse_stage == LapseStage.WARNING


def test_the_median_gap_uses_the_last_12_visits_only(member):
    # Long ago every 60 days, lately every 3 days: the habit now is what counts.
    for n in range(5):
        buy(member, "10.00", days_ago(700 - 60 * n))
    for n in range(13, 0, -1):
        buy(member, "10.00", days_ago(3 * n))

    refresh()

    assert stats_of(member).median_gap_days == Decimal("3.0")


def test_the_favourite_store_is_where_they_buy_most(member, chain):
    buy(member, "10.00", days_ago(40), store=chain["SH001"])
    for n in (30, 20, 10):
        buy(member, "10.00", days_ago(n), store=chain["BJ001"])

    refresh()

    assert stats_of(member).favourite_store == chain["BJ001"]


def test_rfm_cells_compare_each_member_with_the_chain_average(make_member, tiers):
    best, lapsed, never = (make_member(tier=tiers["normal"]) for _ in range(3))
    middle = make_member(tier=tiers["normal"])
    for n in range(12):
        buy(best, "200.00", days_ago(2 + 7 * n))
    buy(lapsed, "20.00", days_ago(300))
    for n in range(3):
        buy(middle, "50.00", days_ago(60 + 20 * n))

    refresh()

    assert stats_of(best).rfm_cell == RfmCell.IMPORTANT_VALUE
    assert (stats_of(best).r_score, stats_of(best).f_score, stats_of(best).m_score) == (5, 5, 5)
    assert stats_of(lapsed).rfm_cell == RfmCell.NORMAL_RETAIN
    assert stats_of(lapsed).r_score == 1
    assert stats_of(never).rfm_cell == ""
    assert stats_of(never).r_score is None
    assert stats_of(never).lapse_stage == LapseStage.NEVER


def test_it_counts_points_expiring_within_30_days_and_unused_coupons(member, cash10):
    post_points_entry(
        member=member,
        points=300,
        kind=PointsEntry.Kind.ADJUST,
        source=Source.ADMIN,
        reason="t",
        key="soon",
        expires_at=NOW + timedelta(days=20),
        at=days_ago(100),
    )
    post_points_entry(
        member=member,
        points=500,
        kind=PointsEntry.Kind.ADJUST,
        source=Source.ADMIN,
        reason="t",
        key="later",
        expires_at=NOW + timedelta(days=40),
        at=days_ago(100),
    )
    kept = issue_coupon(
        template=cash10, member=member, occasion="a", source=Source.ADMIN, at=days_ago(3)
    )
    used = issue_coupon(
        template=cash10, member=member, occasion="b", source=Source.ADMIN, at=days_ago(3)
    )
    issue_coupon(  # expired before NOW: not unused any more
        template=cash10, member=member, occasion="c", source=Source.ADMIN, at=days_ago(60)
    )
    buy(member, "60.00", days_ago(1), coupons=[used])

    refresh()

    s = stats_of(member)
    assert s.points_expiring_30 == 300
    assert s.unused_coupons == 1
    assert kept.pk


def test_visits_short_of_the_next_tier_use_the_average_ticket(member):
    # Silver is reached at ¥1,000 lifetime; ¥300 so far at ¥100 a visit: 7 more visits.
    for n in (30, 20, 10):
        buy(member, "100.00", days_ago(n))

    refresh()

    assert stats_of(member).visits_to_next_tier == 7


def test_chunks_give_the_same_answer_as_one_pass(make_member, tiers, chain):
    members = [make_member(tier=tiers["normal"]) for _ in range(7)]
    for i, member in enumerate(members):
        for n in range(i):
            buy(member, str(10 + i * n), days_ago(5 + 11 * n), store=chain["SH002"])

    refresh(chunk_size=100_000)
    whole = list(MemberStats.objects.order_by("pk").values())
    refresh(chunk_size=2)
    chunked = list(MemberStats.objects.order_by("pk").values())

    strip = [{k: v for k, v in row.items() if k != "refreshed_at"} for row in whole]
    assert strip == [{k: v for k, v in row.items() if k != "refreshed_at"} for row in chunked]
    assert len(whole) == 7
    assert StatsRun.objects.count() == 2 and StatsRun.objects.first().members == 7


def test_one_refresh_at_a_time(member):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(StatsRefreshRunning):
            refresh()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        assert refresh().members == 1
    finally:
        other.close()
