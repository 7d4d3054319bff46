"""Settlement between stores, on a small chain built by hand: every pair's figure is the points
consumed across that pair times the rate, the nets sum to zero, refunds reverse in the period
they happen, and a closed period never changes."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Sum

from core.models import Source
from loyalty.ledger import post_points_entry
from loyalty.models import LotConsumption, PointsEntry
from reports import services, settlement
from reports.exceptions import PeriodClosed, PeriodNotOver
from reports.models import SettlementLine, SettlementPeriod, SettlementRate

from .conftest import make_member, recharge, refund, sell

SH = ZoneInfo("Asia/Shanghai")
MARCH = datetime(2026, 3, 1).date()
APRIL = datetime(2026, 4, 1).date()


def at(day, hour=12):
    return datetime(2026, 3 if day < 100 else 4, day % 100, hour, tzinfo=SH)


def consumed_between(payer, payee):
    """Points issued by `payer` and spent in `payee`: read straight from the lot consumptions
    (the test's own query, independent of the settlement code)."""
    rows = LotConsumption.objects.filter(
        entry__kind__in=["redeem", "gift", "redeem_reversal"],
        lot__entry__store=payer,
    )
    spent = rows.filter(entry__reverses__isnull=True, entry__store=payee)
    given_back = rows.filter(entry__reverses__isnull=False, entry__reverses__store=payee)
    total = 0
    for queryset in (spent, given_back):
        total += queryset.aggregate(p=Sum("points"))["p"] or 0
    return total


@pytest.fixture
def march(chain, report_rules):
    """March 2026 in the four stores (100 points = 1 yuan; settlement at 0.02 from March 1):

    - A (SH001) earns 1,000 in SH001, spends 300 in BJ001 and 100 in SH001 (no one owes).
    - B (BJ001) earns 800 in BJ001, spends 400 in GZ001.
    - C gets 200 bonus points from head office (no store) and spends them in SH002.
    - D (GZ001) earns 500 in GZ001, spends 200 in SH001.
    """
    s = chain
    SettlementRate.objects.create(effective_from=MARCH, yuan_per_point=Decimal("0.02"))
    a = make_member(s["SH001"], name="甲")
    b = make_member(s["BJ001"], name="乙")
    c = make_member(s["SH002"], name="丙")
    d = make_member(s["GZ001"], name="丁")
    sales = {}
    with time_machine.travel(at(2), tick=False):
        sell(a, s["SH001"], "1000.00", at=at(2))
        sell(b, s["BJ001"], "800.00", at=at(2))
        sell(d, s["GZ001"], "500.00", at=at(2))
        post_points_entry(
            member=c, points=200, kind=PointsEntry.Kind.BONUS, source=Source.TASK, reason="活动"
        )
    with time_machine.travel(at(10), tick=False):
        sales["a_bj"] = sell(a, s["BJ001"], "1000.00", redeem=300, at=at(10))
        sell(a, s["SH001"], "1000.00", redeem=100, at=at(10))
        sell(b, s["GZ001"], "1000.00", redeem=400, at=at(10))
        sell(c, s["SH002"], "1000.00", redeem=200, at=at(10))
        sell(d, s["SH001"], "1000.00", redeem=200, at=at(10))
    return {"a": a, "b": b, "c": c, "d": d, "sales": sales}


def test_every_pair_is_the_points_consumed_across_it_times_the_rate(chain, march):
    s = chain
    with time_machine.travel(at(115), tick=False):  # April 15
        period = services.compute_settlement(month=MARCH, source=Source.COMMAND)

    lines = settlement.stored_lines(period)
    points = {(ln.payer, ln.payee): ln for ln in lines if ln.kind == "points"}
    expected_pairs = {
        (s["SH001"].pk, s["BJ001"].pk): 300,
        (s["BJ001"].pk, s["GZ001"].pk): 400,
        (None, s["SH002"].pk): 200,
        (s["GZ001"].pk, s["SH001"].pk): 200,
    }
    assert set(points) == set(expected_pairs)  # SH001's own 100 points settle with no one
    for (payer, payee), figure in expected_pairs.items():
        line = points[(payer, payee)]
        assert line.points == figure == consumed_between(payer, payee)
        assert line.rate == Decimal("0.02")
        assert line.amount == Decimal(figure) * Decimal("0.02")

    nets = settlement.positions(lines)
    assert sum(p.net for p in nets.values()) == 0
    assert nets[s["SH001"].pk].net == Decimal("4.00") - Decimal("6.00")
    assert nets[s["GZ001"].pk].net == Decimal("8.00") - Decimal("4.00")
    assert nets[None].net == Decimal("-4.00")  # head office pays for its bonus points
    # Head office clears: one payment per store with a non-zero net
    payments = settlement.clearing(nets)
    assert len(payments) == 4
    assert sum(amount for _store, amount in payments) == -nets[None].net


def test_without_a_rate_a_point_settles_at_the_redemption_value(chain, report_rules):
    a = make_member(chain["SH001"])
    with time_machine.travel(at(3), tick=False):
        sell(a, chain["SH001"], "1000.00", at=at(3))
        sell(a, chain["SH002"], "1000.00", redeem=300, at=at(3))
        period = services.compute_settlement(month=MARCH, source=Source.COMMAND)

    (line,) = period.lines.all()
    assert line.rate == Decimal("0.01")  # 100 points per yuan
    assert line.amount == Decimal("3.00")


def _figures(period):
    return sorted(
        (ln.kind, ln.payer_id or 0, ln.payee_id or 0, ln.points, ln.amount)
        for ln in period.lines.all()
    )


def test_a_refund_reverses_in_its_own_period_and_the_closed_one_never_changes(chain, march):
    s = chain
    with time_machine.travel(at(102), tick=False):  # April 2
        closed = services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
    frozen = _figures(closed)

    with time_machine.travel(at(105), tick=False):  # April 5: A returns the BJ001 sale
        refund(march["sales"]["a_bj"], at=at(105))
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)
        with pytest.raises(PeriodClosed):
            services.compute_settlement(month=MARCH, source=Source.COMMAND)
        with pytest.raises(PeriodClosed):
            services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)

    closed.refresh_from_db()
    assert _figures(closed) == frozen
    (reversal,) = april.lines.filter(kind="points")
    assert (reversal.payer_id, reversal.payee_id) == (s["SH001"].pk, s["BJ001"].pk)
    assert reversal.points == -300
    assert reversal.amount == Decimal("-6.00")


def test_a_month_closes_only_when_it_is_over_and_in_order(chain, march):
    with time_machine.travel(at(20), tick=False), pytest.raises(PeriodNotOver):
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
    with time_machine.travel(datetime(2026, 5, 3, tzinfo=SH), tick=False):
        services.compute_settlement(month=MARCH, source=Source.COMMAND)
        with pytest.raises(PeriodNotOver):
            services.close_settlement_period(month=APRIL, actor=None, source=Source.COMMAND)
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        services.close_settlement_period(month=APRIL, actor=None, source=Source.COMMAND)
    assert set(SettlementPeriod.objects.values_list("status", flat=True)) == {"closed"}


def test_a_row_written_after_the_close_lands_in_the_next_open_period(chain, march):
    s = chain
    with time_machine.travel(at(102), tick=False):
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        # a backdated redemption (an import of a till's offline day) dated in March
        late = make_member(s["SH002"])
        sell(late, s["SH002"], "1000.00", at=at(20))
        sell(late, s["BJ001"], "1000.00", redeem=100, at=at(20))
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    line = april.lines.get(kind="points")
    assert (line.payer_id, line.payee_id, line.points) == (s["SH002"].pk, s["BJ001"].pk, 100)
    march_lines = SettlementPeriod.objects.get(month=MARCH).lines
    assert not march_lines.filter(payer=s["SH002"], payee=s["BJ001"]).exists()


def test_stored_value_settles_first_in_first_out_over_the_recharges(chain, report_rules):
    """E recharges ¥500 in SH001 and ¥100 in SH002, pays ¥200 in BJ001 then ¥350 in GZ001:
    SH001 owes BJ001 200; the ¥350 takes the ¥300 left of SH001's recharge and ¥50 of SH002's.
    A refund of the GZ001 sale next month gives both pieces back in that month."""
    s = chain
    e = make_member(s["SH001"], name="戊")
    with time_machine.travel(at(5), tick=False):
        recharge(e, s["SH001"], "500.00", at=at(5))
    with time_machine.travel(at(6), tick=False):
        recharge(e, s["SH002"], "100.00", at=at(6))
    with time_machine.travel(at(7), tick=False):
        sell(e, s["BJ001"], "200.00", stored_value="200.00", at=at(7))
    with time_machine.travel(at(8), tick=False):
        gz = sell(e, s["GZ001"], "350.00", stored_value="350.00", at=at(8))
    with time_machine.travel(at(102), tick=False):
        march = services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
    with time_machine.travel(at(103), tick=False):
        refund(gz, at=at(103))
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    def pairs(period):
        return {
            (ln.payer_id, ln.payee_id): ln.amount
            for ln in period.lines.filter(kind=SettlementLine.Kind.STORED_VALUE)
        }

    assert pairs(march) == {
        (s["SH001"].pk, s["BJ001"].pk): Decimal("200.00"),
        (s["SH001"].pk, s["GZ001"].pk): Decimal("300.00"),
        (s["SH002"].pk, s["GZ001"].pk): Decimal("50.00"),
    }
    assert pairs(april) == {
        (s["SH001"].pk, s["GZ001"].pk): Decimal("-300.00"),
        (s["SH002"].pk, s["GZ001"].pk): Decimal("-50.00"),
    }
    assert sum(p.net for p in settlement.positions(settlement.stored_lines(march)).values()) == 0


def test_the_nightly_task_drafts_this_month_and_last(chain, march):
    from reports.tasks import compute_settlement_task

    with time_machine.travel(at(103), tick=False):  # April 3
        months = compute_settlement_task.apply().get()

    assert months == ["2026-03-01", "2026-04-01"]
    march_period = SettlementPeriod.objects.get(month=MARCH)
    assert march_period.status == "open" and march_period.lines.filter(kind="points").count() == 4


def test_points_given_back_after_a_rate_change_reverse_at_the_rate_they_were_spent_at(
    chain, report_rules, check_ledgers
):
    # 0.01 in March, 0.02 from April. 300 points earned in SH001 are spent in BJ001 on 5 March
    # (SH001 owes BJ001 ¥3.00); March closes; the sale is wholly refunded on 3 April. The
    # reversal undoes the ¥3.00 March booked, not ¥6.00 at April's rate.
    s = chain
    SettlementRate.objects.create(effective_from=MARCH, yuan_per_point=Decimal("0.01"))
    SettlementRate.objects.create(effective_from=APRIL, yuan_per_point=Decimal("0.02"))
    a = make_member(s["SH001"])
    with time_machine.travel(at(2), tick=False):
        sell(a, s["SH001"], "1000.00", at=at(2))
    with time_machine.travel(at(5), tick=False):
        spend = sell(a, s["BJ001"], "1000.00", redeem=300, at=at(5))
    with time_machine.travel(at(102), tick=False):
        march = services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
    with time_machine.travel(at(103), tick=False):
        refund(spend, at=at(103))
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    (booked,) = march.lines.filter(kind="points")
    (reversal,) = april.lines.filter(kind="points")
    assert (booked.points, booked.rate, booked.amount) == (300, Decimal("0.01"), Decimal("3.00"))
    assert (reversal.payer_id, reversal.payee_id) == (s["SH001"].pk, s["BJ001"].pk)
    assert (reversal.points, reversal.rate) == (-300, Decimal("0.01"))
    assert reversal.amount == Decimal("-3.00")
    check_ledgers()


def test_a_backdated_credit_never_makes_a_store_pay_twice_for_one_recharge(
    chain, report_rules, check_ledgers
):
    """E recharges ¥100 in SH001 on 1 March and pays ¥60 in BJ001 on 31 March; March closes
    (SH001 owes BJ001 ¥60 of its recharge). On 3 April a credit dated 1 February is written
    (an opening balance or a recharge brought in from before, ¥100 funded by GZ001), and on 5
    April E pays ¥100 in BJ001: the ¥40 left of SH001's recharge and ¥60 of GZ001's credit.
    Replayed in date order, the closed March payment took the February credit instead, so
    April took ¥60 of SH001's recharge again: SH001 paid ¥120 for a ¥100 recharge, GZ001 ¥40
    for ¥100 of its credit spent."""
    s = chain
    e = make_member(s["SH001"], name="戊")
    with time_machine.travel(at(1), tick=False):
        recharge(e, s["SH001"], "100.00", at=at(1))
    with time_machine.travel(at(31), tick=False):
        sell(e, s["BJ001"], "60.00", stored_value="60.00", at=at(31))
    with time_machine.travel(at(102), tick=False):
        march = services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
    with time_machine.travel(at(103), tick=False):
        recharge(e, s["GZ001"], "100.00", at=datetime(2026, 2, 1, 12, tzinfo=SH))
    with time_machine.travel(at(105), tick=False):
        sell(e, s["BJ001"], "100.00", stored_value="100.00", at=at(105))
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    def pairs(period):
        return {
            (ln.payer_id, ln.payee_id): ln.amount
            for ln in period.lines.filter(kind=SettlementLine.Kind.STORED_VALUE)
        }

    assert pairs(march) == {(s["SH001"].pk, s["BJ001"].pk): Decimal("60.00")}
    assert pairs(april) == {
        (s["SH001"].pk, s["BJ001"].pk): Decimal("40.00"),
        (s["GZ001"].pk, s["BJ001"].pk): Decimal("60.00"),
    }
    check_ledgers()
