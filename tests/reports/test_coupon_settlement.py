"""Coupon discounts in the settlement: head office owes the accepting store the part of each
discount it funds (all of it, its part of a split, none of a store-funded coupon), and a whole
refund that gives the coupon back reverses it in the refund's month."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from core.models import Source
from coupons.models import CouponTemplate, CouponTemplateVersion
from coupons.services import issue_coupon, save_coupon_template
from reports import services, settlement
from sales.services import post_sale, refund_sale

from .conftest import line, make_member

SH = ZoneInfo("Asia/Shanghai")
MARCH = datetime(2026, 3, 1).date()
APRIL = datetime(2026, 4, 1).date()
V = CouponTemplateVersion


def on(month, day):
    return datetime(2026, month, day, 12, tzinfo=SH)


def template(code, funding, share="0"):
    found = CouponTemplate(code=code, name=code)
    save_coupon_template(
        template=found,
        terms={"face_value": Decimal("10"), "funding": funding,
               "store_share_percent": Decimal(share)},
    )  # fmt: skip
    return found


def use(member, store, coupon_template, receipt):
    coupon = issue_coupon(
        template=coupon_template, member=member, occasion=receipt, source=Source.ADMIN
    )
    return post_sale(
        store=store,
        member=member,
        receipt_no=receipt,
        lines=[line("80.00")],
        total=Decimal("80.00"),
        coupon_codes=[coupon.code],
        source=Source.TILL,
    )


def coupon_lines(period):
    return {
        (ln.payer, ln.payee): ln.amount
        for ln in settlement.stored_lines(period)
        if ln.kind == "coupon"
    }


def test_head_office_owes_the_accepting_store_its_funded_part(chain, report_rules):
    head_office = template("HQ", V.Funding.HEAD_OFFICE)
    split = template("SPLIT", V.Funding.SPLIT, share="40")
    own = template("OWN", V.Funding.STORE)
    member = make_member(chain["SH001"])
    with time_machine.travel(on(3, 10), tick=False):
        bj_sale = use(member, chain["BJ001"], head_office, "C1")
        use(member, chain["GZ001"], split, "C2")
        use(member, chain["SH001"], own, "C3")
    with time_machine.travel(on(4, 3), tick=False):
        refund_sale(sale=bj_sale, refund_no="F1", source=Source.TILL)
    with time_machine.travel(on(4, 15), tick=False):
        march = services.compute_settlement(month=MARCH, source=Source.COMMAND)
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    assert coupon_lines(march) == {
        (None, chain["BJ001"].pk): Decimal("10.00"),
        (None, chain["GZ001"].pk): Decimal("6.00"),  # 60% of ¥10: the store pays 40%
    }
    assert coupon_lines(april) == {(None, chain["BJ001"].pk): Decimal("-10.00")}
    nets = settlement.positions(settlement.stored_lines(march))
    assert sum(p.net for p in nets.values()) == 0


def test_a_whole_refund_undoes_the_funding_of_a_coupon_kept_used(
    chain, report_rules, check_ledgers
):
    # A coupon whose terms keep it used on a full refund: the member does not get it back, but
    # the ¥10 head office funded in March went with the sale, so April reverses it.
    kept = CouponTemplate(code="KEPT", name="KEPT")
    save_coupon_template(
        template=kept,
        terms={"face_value": Decimal("10"), "funding": V.Funding.HEAD_OFFICE,
               "refund_policy": V.RefundPolicy.KEEP_USED},
    )  # fmt: skip
    member = make_member(chain["SH001"])
    with time_machine.travel(on(3, 10), tick=False):
        sale = use(member, chain["BJ001"], kept, "K1")
    with time_machine.travel(on(4, 3), tick=False):
        done = refund_sale(sale=sale, refund_no="KF1", source=Source.TILL)
    with time_machine.travel(on(4, 15), tick=False):
        march = services.compute_settlement(month=MARCH, source=Source.COMMAND)
        april = services.compute_settlement(month=APRIL, source=Source.COMMAND)

    assert done.coupons_returned == []
    (coupon,) = [use.coupon for use in sale.coupons.all()]
    assert coupon.status == "used"
    assert list(coupon.events.order_by("id").values_list("kind", flat=True)) == [
        "issued",
        "used",
        "refunded",
    ]
    assert coupon_lines(march) == {(None, chain["BJ001"].pk): Decimal("10.00")}
    assert coupon_lines(april) == {(None, chain["BJ001"].pk): Decimal("-10.00")}
    check_ledgers()
