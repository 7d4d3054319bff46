"""The nightly job's daily figures: what each store and the chain did, recomputed the same on
a rerun, and the liabilities at the end of each day."""

import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from core.models import Source
from loyalty.models import PointsAccount
from reports import figures, services
from reports.models import DailyStats, StoreSnapshot
from wallet.models import Wallet


def _row(day, store=None):
    return DailyStats.objects.get(day=day, store=store)


def test_it_counts_each_day_by_store_and_for_the_chain(chain, activity):
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)

    chain_yesterday = _row(yesterday)
    assert chain_yesterday.sales_count == 3
    assert chain_yesterday.sales_amount == Decimal("2100.00")
    assert chain_yesterday.points_issued == 2100
    assert chain_yesterday.points_redeemed == 0
    assert chain_yesterday.active_members == 3

    chain_today = _row(today)
    assert chain_today.sales_count == 3
    assert chain_today.sales_amount == Decimal("1050.00")
    assert chain_today.points_offset == Decimal("5.00")
    # earned on what was paid (398 + 597 + 50) and the two bonuses (50 + 60)
    assert chain_today.points_issued == 398 + 597 + 50 + 110
    assert chain_today.points_redeemed == 500
    assert chain_today.sv_recharged == Decimal("800.00")
    assert chain_today.sv_bonus_given == Decimal("50.00")
    assert chain_today.sv_spent == Decimal("220.00")
    assert chain_today.new_members == 4
    # 张三 and 李四 shopped both days: counted once in the chain's 7 days
    assert chain_today.active_members_7 == 4

    sh001 = _row(today, chain["SH001"])
    assert sh001.sales_count == 0
    assert sh001.points_issued == 50
    assert sh001.sv_recharged == Decimal("500.00")
    assert sh001.new_members == 1
    gz001 = _row(today, chain["GZ001"])
    assert gz001.sales_amount == Decimal("650.00")
    assert gz001.points_redeemed == 300
    assert gz001.active_members == 2


def test_the_end_of_day_liabilities_match_the_balances(chain, activity):
    today = timezone.localdate()
    points = sum(PointsAccount.objects.values_list("balance", flat=True))
    stored = sum(w.principal + w.bonus for w in Wallet.objects.all())

    closing = _row(today)

    assert closing.points_outstanding == points == 2100 + 1155 - 500
    assert closing.sv_principal_outstanding + closing.sv_bonus_outstanding == stored
    # yesterday closed before today's movements
    assert _row(today - timedelta(days=1)).points_outstanding == 2100
    # by home store: 张三's points are SH001's
    zhang = PointsAccount.objects.get(member=activity["members"]["zhang"]).balance
    assert _row(today, chain["SH001"]).points_outstanding == zhang


def test_a_rerun_writes_the_same_figures(chain, activity):
    today = timezone.localdate()
    before = {
        (row.day, row.store_id): (row.sales_amount, row.points_issued, row.active_members_30)
        for row in DailyStats.objects.all()
    }

    services.refresh_daily_stats(
        first_day=today - timedelta(days=3), last_day=today, source=Source.COMMAND
    )

    after = {
        (row.day, row.store_id): (row.sales_amount, row.points_issued, row.active_members_30)
        for row in DailyStats.objects.all()
    }
    assert after == before


def test_the_snapshot_counts_members_by_tier_and_points_expiring(chain, activity, report_rules):
    snap = StoreSnapshot.objects.get(store=None)
    assert snap.members == 4
    assert snap.points_expiring_30 == 110
    assert snap.members_expiring_30 == 2
    # 张三 (¥1,000 yesterday) and 李四 (¥1,400) reached 银卡
    assert snap.tier_counts == {
        str(report_rules["normal"].pk): 2,
        str(report_rules["silver"].pk): 2,
    }
    sh = StoreSnapshot.objects.get(store=chain["SH001"])
    assert (sh.points_expiring_30, sh.members_expiring_30) == (50, 1)


def test_today_live_equals_what_the_job_stores(chain, activity):
    today = timezone.localdate()
    live = figures.flows_by_store(today, today, {chain["GZ001"].pk})[chain["GZ001"].pk]
    stored = _row(today, chain["GZ001"])
    for name in figures.FLOW_FIELDS:
        assert live[name] == getattr(stored, name), name


def test_the_nightly_task_and_the_command_refresh_the_figures(chain, activity):
    from django.core.management import call_command

    from reports.tasks import refresh_daily_stats_task

    DailyStats.objects.all().delete()
    rows = refresh_daily_stats_task.apply().get()
    assert rows == 2 * 5  # yesterday and today: four stores and the chain
    call_command("refresh_report_stats", "--days", "2", stdout=io.StringIO())
    assert DailyStats.objects.filter(store=None).count() == 3


def test_the_commands_refuse_bad_dates(db):
    import pytest
    from django.core.management import CommandError, call_command

    for args in (
        ["refresh_report_stats", "--from", "2026-13-01"],
        ["refresh_report_stats", "--from", "2026-03-02", "--to", "2026-03-01"],
        ["refresh_report_stats", "--days", "-1"],
        ["settle_month", "--close", "March"],
    ):
        with pytest.raises(CommandError):
            call_command(*args, stdout=io.StringIO())
    assert not DailyStats.objects.exists()
