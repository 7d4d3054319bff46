"""A month close against writers on other connections: every entry lands in exactly one month.

Ids come from a sequence when a row is inserted, not when it commits. A close that froze
`Max(id)` while a till's transaction held an uncommitted redemption, after another one with a
higher id had committed, took that redemption into neither month: not into the closed one (it
was not committed yet), not into the next (its id is below the mark). Real threads, each with
its own connection, one holding its transaction open while the close runs.
"""

import threading
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from core.models import Source
from reports import services
from reports.models import SettlementPeriod

from .conftest import make_member, sell

pytestmark = pytest.mark.django_db(transaction=True)
SH = ZoneInfo("Asia/Shanghai")
MARCH = datetime(2026, 3, 1).date()
APRIL = datetime(2026, 4, 1).date()


def on(month, day, hour=12):
    return datetime(2026, month, day, hour, tzinfo=SH)


def _points(period, payer, payee):
    return sum(ln.points for ln in period.lines.filter(kind="points", payer=payer, payee=payee))


def test_a_redemption_committed_while_the_month_closes_lands_in_exactly_one_month(
    chain, report_rules, check_ledgers
):
    s = chain
    late, early = make_member(s["SH001"]), make_member(s["SH002"])
    with time_machine.travel(on(3, 2), tick=False):
        sell(late, s["SH001"], "1000.00", at=on(3, 2))
        sell(early, s["SH002"], "1000.00", at=on(3, 2))

    inserted, release = threading.Event(), threading.Event()
    errors = []

    def till_holding_its_transaction():
        try:
            with transaction.atomic():
                # 300 points of SH001 spent in BJ001 late on 31 March; committed only later.
                sell(late, s["BJ001"], "1000.00", redeem=300, at=on(3, 31, 23))
                inserted.set()
                release.wait(30)
        except Exception as exc:  # collected for the test
            errors.append(exc)
            inserted.set()
        finally:
            connection.close()

    def close_march():
        try:
            services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(on(4, 2), tick=True):
        holder = threading.Thread(target=till_holding_its_transaction)
        holder.start()
        assert inserted.wait(30)
        # Another till's redemption takes a higher id and commits first.
        sell(early, s["GZ001"], "1000.00", redeem=100, at=on(3, 31, 22))
        closer = threading.Thread(target=close_march)
        closer.start()
        closer.join(1.5)  # the close runs (and, fixed, waits) while the first till is open
        release.set()
        holder.join(30)
        closer.join(30)
        assert not errors, errors
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    march = SettlementPeriod.objects.get(month=MARCH)
    assert march.is_closed
    in_march = _points(march, s["SH001"].pk, s["BJ001"].pk)
    in_april = _points(april, s["SH001"].pk, s["BJ001"].pk)
    assert (in_march, in_april) in {(300, 0), (0, 300)}
    assert _points(march, s["SH002"].pk, s["GZ001"].pk) == 100
    assert april.lines.filter(payer=s["SH002"]).count() == 0
    check_ledgers()


def test_a_coupon_used_by_an_offline_sale_posted_after_the_close_lands_in_the_next_month(
    chain, report_rules, check_ledgers
):
    """An offline sale (sold_at in March, posted on 2 April after March closed) that used a
    coupon head office funds: its discount is owed in April, as its points and stored value
    would be, not lost between the two months."""
    from coupons.models import CouponTemplate, CouponTemplateVersion
    from coupons.services import issue_coupon, save_coupon_template
    from sales.services import post_sale

    from .conftest import line

    template = CouponTemplate(code="HQ5", name="HQ5")
    save_coupon_template(
        template=template,
        terms={"face_value": Decimal("5"), "funding": CouponTemplateVersion.Funding.HEAD_OFFICE},
    )
    member = make_member(chain["SH001"])
    with time_machine.travel(on(3, 20), tick=False):
        coupon = issue_coupon(template=template, member=member, occasion="o", source=Source.ADMIN)
    with time_machine.travel(on(4, 2), tick=False):
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        post_sale(store=chain["BJ001"], member=member, receipt_no="OFF-1", lines=[line("50.00")],
                  total=Decimal("50.00"), coupon_codes=[coupon.code], source=Source.TILL,
                  at=on(3, 31, 21))  # fmt: skip
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    march = SettlementPeriod.objects.get(month=MARCH)
    assert not march.lines.filter(kind="coupon").exists()
    (owed,) = april.lines.filter(kind="coupon")
    assert (owed.payer_id, owed.payee_id, owed.amount) == (None, chain["BJ001"].pk, Decimal("5"))
    check_ledgers()


def test_a_close_that_cannot_wait_for_a_writer_refuses_and_closes_nothing(
    chain, report_rules, settings
):
    """A transaction holding an uncommitted redemption for longer than the close will wait
    (SETTLEMENT_CLOSE_WAIT_SECONDS): the close answers PeriodBusy and leaves the month open;
    closed again once the writer is done, the month takes the redemption in."""
    from reports.exceptions import PeriodBusy

    settings.SETTLEMENT_CLOSE_WAIT_SECONDS = 0.5
    s = chain
    member = make_member(s["SH001"])
    with time_machine.travel(on(3, 2), tick=False):
        sell(member, s["SH001"], "1000.00", at=on(3, 2))
    inserted, release = threading.Event(), threading.Event()

    def till_holding_its_transaction():
        try:
            with transaction.atomic():
                sell(member, s["BJ001"], "1000.00", redeem=200, at=on(3, 30))
                inserted.set()
                release.wait(30)
        finally:
            inserted.set()
            connection.close()

    with time_machine.travel(on(4, 2), tick=True):
        holder = threading.Thread(target=till_holding_its_transaction)
        holder.start()
        assert inserted.wait(30)
        try:
            with pytest.raises(PeriodBusy):
                services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        finally:
            release.set()
            holder.join(30)
        assert not SettlementPeriod.objects.filter(month=MARCH, status="closed").exists()
        march = services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)

    assert _points(march, s["SH001"].pk, s["BJ001"].pk) == 200
