"""Property: a sale that is wholly refunded, at once or bit by bit, leaves no store owing any
other anything, whatever settlement rates were in force and whichever months were closed in
between.

Each example: settlement rates (some months fractional, e.g. 0.0125 a point) changing from
month to month; a member earns points in one store (and gets head-office points), recharges
stored value in one or two stores, then spends points, stored value and a coupon (funded by
head office, the store, or split; given back on a full refund or kept used) in a third
store in March or April; the sale comes back in one to three refunds over the following
months, with months closed in between at random (a close once the month is over, in order).
Summed over every month (closed lines as frozen, open months computed), each pair of
parties nets to zero for each kind: points, stored value, coupon funding.
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Source
from coupons.models import CouponTemplate, CouponTemplateVersion
from coupons.services import issue_coupon, save_coupon_template
from loyalty.ledger import post_points_entry
from loyalty.models import PointsEntry
from reports import services, settlement
from reports.models import SettlementPeriod, SettlementRate
from sales.services import post_sale, refund_sale

from .conftest import line, make_member, recharge

SH = ZoneInfo("Asia/Shanghai")
V = CouponTemplateVersion
MONTHS = [2, 3, 4, 5, 6]  # February to June 2026
RATES = ["0.005", "0.01", "0.0125", "0.015", "0.02", "0.0333"]


def on(month, day, hour=12):
    return datetime(2026, month, day, hour, tzinfo=SH)


def month_of(month):
    return datetime(2026, month, 1).date()


@st.composite
def scenarios(draw):
    stores = ["SH001", "SH002", "BJ001", "GZ001"]
    sold_in = draw(st.sampled_from([3, 4]))
    refunds = draw(st.integers(1, 3))
    refund_months = sorted(draw(st.lists(st.sampled_from([m for m in MONTHS if m >= sold_in]),
                                         min_size=refunds, max_size=refunds)))  # fmt: skip
    return {
        "rates": {m: draw(st.sampled_from([None, *RATES])) for m in MONTHS},
        "earn_store": draw(st.sampled_from(stores)),
        "recharge_stores": draw(st.lists(st.sampled_from(stores), min_size=1, max_size=2)),
        "sale_store": draw(st.sampled_from(stores)),
        "sold_in": sold_in,
        "redeem": draw(st.sampled_from([0, 100, 300, 700, 1100])),
        "stored_value": draw(st.sampled_from(["0.00", "37.77", "110.00", "150.00"])),
        "funding": draw(st.sampled_from([V.Funding.HEAD_OFFICE, V.Funding.STORE, V.Funding.SPLIT])),
        "policy": draw(st.sampled_from([V.RefundPolicy.RETURN, V.RefundPolicy.KEEP_USED])),
        "refund_months": refund_months,
        "closes": [draw(st.booleans()) for _m in MONTHS],
    }


def _close_until(month, wanted):
    """Close, in order, the months before `month` that the scenario wants closed."""
    for m in MONTHS:
        if m >= month:
            return
        period = SettlementPeriod.objects.filter(month=month_of(m)).first()
        if period is not None and period.is_closed:
            continue
        if not wanted[MONTHS.index(m)]:
            return  # a later month cannot close before this one
        services.close_settlement_period(month=month_of(m), actor=None, source=Source.COMMAND)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(scenario=scenarios())
def test_a_wholly_refunded_sale_nets_to_zero_between_every_pair(
    scenario, chain, report_rules, check_ledgers
):
    with transaction.atomic():
        _one_example(scenario, chain)
        check_ledgers()
        transaction.set_rollback(True)


def _one_example(scenario, chain):
    for month, rate in scenario["rates"].items():
        if rate:
            SettlementRate.objects.create(
                effective_from=month_of(month), yuan_per_point=Decimal(rate)
            )
    member = make_member(chain[scenario["earn_store"]])
    with time_machine.travel(on(2, 3), tick=False):
        post_sale(store=chain[scenario["earn_store"]], member=member, receipt_no="EARN",
                  lines=[line("800.00")], total=Decimal("800.00"), source=Source.TILL,
                  at=on(2, 3))  # fmt: skip
        post_points_entry(member=member, points=333, kind=PointsEntry.Kind.BONUS,
                          source=Source.TASK, reason="活动")  # fmt: skip
        for n, code in enumerate(scenario["recharge_stores"]):
            recharge(member, chain[code], "120.00", at=on(2, 4 + n))
    coupon_template = CouponTemplate(code="PROP", name="PROP")
    save_coupon_template(
        template=coupon_template,
        terms={"face_value": Decimal("10"), "funding": scenario["funding"],
               "store_share_percent": Decimal("33.33"), "refund_policy": scenario["policy"]},
    )  # fmt: skip
    sold_at = on(scenario["sold_in"], 20)
    with time_machine.travel(sold_at, tick=False):
        coupon = issue_coupon(
            template=coupon_template, member=member, occasion="prop", source=Source.ADMIN
        )
        _close_until(scenario["sold_in"], scenario["closes"])
        sale = post_sale(
            store=chain[scenario["sale_store"]],
            member=member,
            receipt_no="SPEND",
            lines=[line("90.00", sku="A"), line("60.00", sku="B"), line("50.00", sku="C")],
            total=Decimal("200.00"),
            redeem_points=scenario["redeem"],
            stored_value_amount=min(
                Decimal(scenario["stored_value"]), 120 * len(scenario["recharge_stores"])
            ),
            coupon_codes=[coupon.code],
            source=Source.TILL,
            at=sold_at,
        )
    parts = [[{"sku": "A", "qty": 1}], [{"sku": "B", "qty": 1}]][
        : len(scenario["refund_months"]) - 1
    ]
    for n, month in enumerate(scenario["refund_months"]):
        day = on(month, 25 if month == scenario["sold_in"] else 3 + n)
        with time_machine.travel(day, tick=False):
            _close_until(month, scenario["closes"])
            lines = parts[n] if n < len(parts) else None
            refund_sale(sale=sale, refund_no=f"F{n}", lines=lines, source=Source.TILL, at=day)

    totals = defaultdict(Decimal)
    with time_machine.travel(on(7, 5), tick=False):
        for month in MONTHS:
            period = SettlementPeriod.objects.filter(month=month_of(month)).first()
            if period is not None and period.is_closed:
                lines = settlement.stored_lines(period)
            else:
                period = services.compute_settlement(month=month_of(month), source=Source.COMMAND)
                lines = settlement.stored_lines(period)
            for ln in lines:
                totals[(ln.kind, ln.payer, ln.payee)] += ln.amount
    assert {key: amount for key, amount in totals.items() if amount} == {}, repr(scenario)
