"""Refunds of sales that used coupons (API.md): a whole refund gives the coupons back (expired
if past their date, with an event), a partial refund returns each line's money net of its
coupon share, and the kept lines are re-priced as the sale priced them, so the member ends up
having paid what they would pay for the kept lines alone (sales.services.refund_sale)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from coupons.models import Coupon, CouponEvent, CouponTemplateVersion
from tests.coupons.conftest import checkout, give, grant_points, line, make_template, refund

pytestmark = pytest.mark.usefixtures("rules")


def test_a_whole_refund_gives_the_coupon_back(member, cash10, check_ledgers):
    coupon = give(cash10, member)
    sale = checkout(member, [line("A", "60.00"), line("B", "40.00")], coupons=[coupon])

    done = refund(sale)

    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE and coupon.used_at is None
    assert done.coupons_returned == [coupon.code]
    # The member paid ¥90: that is what comes back, not the ¥100 the lines cost.
    assert done.amount_due == Decimal("90.00") and done.coupon_clawback == 0
    assert list(coupon.events.order_by("id").values_list("kind", flat=True)) == [
        "issued",
        "used",
        "returned",
    ]
    check_ledgers()


def test_a_coupon_given_back_after_its_last_day_comes_back_expired(member, cash10, check_ledgers):
    coupon = give(cash10, member)
    sale = checkout(member, [line("A", "80.00")], coupons=[coupon])

    with time_machine.travel(coupon.valid_until + timedelta(seconds=1), tick=False):
        done = refund(sale)

    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.EXPIRED
    assert done.coupons_returned == [coupon.code]
    kinds = list(coupon.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [CouponEvent.Kind.RETURNED, CouponEvent.Kind.EXPIRED]
    check_ledgers()


def test_a_coupon_whose_terms_keep_it_used_is_not_given_back(member, check_ledgers):
    kept = make_template(
        "KEEP",
        face_value=Decimal("5"),
        refund_policy=CouponTemplateVersion.RefundPolicy.KEEP_USED,
    )
    coupon = give(kept, member)
    sale = checkout(member, [line("A", "30.00")], coupons=[coupon])

    done = refund(sale)

    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED and done.coupons_returned == []
    assert done.amount_due == Decimal("25.00")
    check_ledgers()


def test_a_partial_refund_returns_the_line_net_of_its_coupon_share(member, fresh90, check_ledgers):
    # No threshold: the kept line keeps its own share of the discount.
    coupon = give(fresh90, member)
    sale = checkout(
        member,
        [line("F1", "100.00", category="fresh"), line("F2", "50.00", category="fresh")],
        coupons=[coupon],
    )
    shares = {ln.sku: ln.coupon_discount for ln in sale.lines.all()}
    assert shares == {"F1": Decimal("10.00"), "F2": Decimal("5.00")}

    done = refund(sale, [{"sku": "F2", "qty": 1}])

    assert done.amount_due == Decimal("45.00") and done.coupon_clawback == 0
    assert done.coupons_returned == []
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED
    check_ledgers()


def test_kept_lines_below_the_threshold_give_back_the_discount_they_carry(
    member, cash10, check_ledgers
):
    # 满50减10 on ¥40 + ¥30: shares ¥5.71 and ¥4.29. Refunding the ¥40 line leaves ¥30 kept,
    # below ¥50: that line's ¥4.29 is taken back from the refund.
    coupon = give(cash10, member)
    sale = checkout(member, [line("A", "40.00"), line("B", "30.00")], coupons=[coupon])
    shares = {ln.sku: ln.coupon_discount for ln in sale.lines.all()}
    assert shares == {"A": Decimal("5.71"), "B": Decimal("4.29")}

    done = refund(sale, [{"sku": "A", "qty": 1}])

    assert done.amount_due == Decimal("34.29")  # ¥40 less its ¥5.71 share
    assert done.coupon_clawback == Decimal("4.29")
    assert done.clawed_coupons == {coupon.code: "4.29"}
    # The member ends having paid ¥30 for the kept ¥30 line: no discount without the threshold.
    assert sale.amount_due - (done.amount_due - done.coupon_clawback) == Decimal("30.00")
    check_ledgers()


def test_the_discount_is_taken_back_once_over_several_refunds(member, cash10, check_ledgers):
    coupon = give(cash10, member)
    sale = checkout(
        member,
        [line("A", "40.00"), line("B", "20.00"), line("C", "20.00")],
        coupons=[coupon],
    )

    first = refund(sale, [{"sku": "A", "qty": 1}])  # keeps ¥40: below ¥50
    second = refund(sale, [{"sku": "B", "qty": 1}])  # already taken back: not again
    last = refund(sale)  # the rest: the whole sale is now refunded

    assert first.coupon_clawback > 0
    assert second.coupon_clawback == 0 and last.coupon_clawback == 0
    paid_back = sum(r.amount_due - r.coupon_clawback for r in (first, second, last))
    assert paid_back == sale.amount_due
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE and last.coupons_returned == [coupon.code]
    check_ledgers()


def test_a_claim_the_refund_cannot_pay_is_taken_from_the_next_refund(member, check_ledgers):
    # 满100减20 on ¥90 + ¥15: shares ¥17.14 and ¥2.86; the member paid ¥85. Refunding the ¥15
    # line leaves ¥90 kept, below ¥100: the kept line's ¥17.14 is claimed, but this refund
    # pays only ¥12.14. The rest comes off the next refund, so ¥85 comes back in all.
    over100 = make_template("OVER100", face_value=Decimal("20"), threshold=Decimal("100"))
    coupon = give(over100, member)
    sale = checkout(member, [line("A", "90.00"), line("B", "15.00")], coupons=[coupon])
    assert sale.amount_due == Decimal("85.00")

    first = refund(sale, [{"sku": "B", "qty": 1}])
    rest = refund(sale)

    assert (first.amount_due, first.coupon_clawback) == (Decimal("12.14"), Decimal("12.14"))
    assert first.clawed_coupons == {coupon.code: "17.14"}
    assert (rest.amount_due, rest.coupon_clawback) == (Decimal("90.00"), Decimal("5.00"))
    paid_back = sum(r.amount_due - r.coupon_clawback for r in (first, rest))
    assert paid_back == sale.amount_due
    check_ledgers()


def test_a_sale_paid_by_stored_value_gives_back_no_discount_it_lost(member, cash10, check_ledgers):
    from wallet.ledger import open_wallet
    from wallet.services import recharge_wallet

    open_wallet(member)
    recharge_wallet(member=member, amount=Decimal("60.00"), store=member.home_store,
                    source="admin", key="sv-claw")  # fmt: skip
    coupon = give(cash10, member)
    sale = checkout(
        member,
        [line("A", "40.00"), line("B", "30.00")],
        coupons=[coupon],
        stored_value_amount=Decimal("60.00"),
    )

    # The ¥40 line back: ¥30 kept is below ¥50, but the refund pays no cash to take ¥4.29 from.
    first = refund(sale, [{"sku": "A", "qty": 1}])
    rest = refund(sale)

    assert first.coupon_clawback == 0 and rest.coupon_clawback == Decimal("4.29")
    parts = (first, rest)
    assert sum(p.stored_value_returned for p in parts) == Decimal("60.00")
    # All of it went back to the card; no cash for a discount the kept line no longer had.
    assert sum(p.amount_due - p.stored_value_returned - p.coupon_clawback for p in parts) == 0
    check_ledgers()


def test_a_kept_basket_above_the_threshold_keeps_its_discount(member, cash10, check_ledgers):
    coupon = give(cash10, member)
    sale = checkout(member, [line("A", "60.00"), line("B", "40.00")], coupons=[coupon])

    done = refund(sale, [{"sku": "B", "qty": 1}])  # ¥60 kept: still above ¥50

    # A alone is quoted ¥50 (the whole ¥10 off it, not its ¥6 share): B's ¥36 net comes back
    # with the ¥4 more of the discount that now sits on A, so the member has paid ¥50 for A.
    assert done.amount_due == Decimal("36.00") and done.coupon_clawback == Decimal("-4.00")
    assert done.clawed_coupons == {coupon.code: "-4.00"}
    assert sale.amount_due - (done.amount_due - done.coupon_clawback) == Decimal("50.00")
    check_ledgers()


def test_mixed_tenders_come_back_to_the_cent(member, cash10, check_ledgers):
    from wallet.ledger import open_wallet
    from wallet.services import recharge_wallet

    open_wallet(member)
    recharge_wallet(
        member=member, amount=Decimal("25.00"), store=member.home_store, source="admin",
        key="t-rc",
    )  # fmt: skip
    grant_points(member, 3000)
    coupon = give(cash10, member)
    sale = checkout(
        member,
        [line("A", "33.33"), line("B", "33.33"), line("C", "33.34")],
        coupons=[coupon],
        redeem_points=2000,
        stored_value_amount=Decimal("25.00"),
    )

    parts = [refund(sale, [{"sku": sku, "qty": 1}]) for sku in ("A", "B", "C")]

    assert sum(p.stored_value_returned for p in parts) == Decimal("25.00")
    assert sum(p.offset_returned for p in parts) == sale.offset_amount
    assert sum(p.points_returned for p in parts) == sale.points_redeemed
    cash = sum(p.amount_due - p.stored_value_returned - p.coupon_clawback for p in parts)
    assert cash == sale.amount_due - sale.stored_value_amount
    check_ledgers()


def test_a_refund_that_drops_the_kept_lines_below_an_order_coupon_reprices_them(
    member, fresh90, cash10, check_ledgers
):
    # 生鲜9折 + 满50减10 on F ¥52 (fresh) and G ¥5: the item coupon takes ¥5.20 first, so the
    # order coupon's base is ¥51.80 and the sale's discount ¥15.20 (the member pays ¥41.80).
    # Refunding G leaves F alone, which the quote prices at ¥46.80: the order coupon's base
    # would be ¥46.80, below ¥50 (the threshold is checked after the item coupon, not on the
    # ¥52 F costs before it).
    from sales.services import quote_sale

    item, order = give(fresh90, member), give(cash10, member)
    basket = [line("F", "52.00", category="fresh"), line("G", "5.00")]
    kept = quote_sale(
        store=member.home_store, member=member, lines=basket[:1],
        coupon_codes=[item.code, order.code],
    )  # fmt: skip
    assert kept["amount_due"] == Decimal("46.80")
    assert {c["code"]: c["reason"] for c in kept["coupons"]}[order.code] == (
        "coupon_threshold_not_met"
    )
    sale = checkout(member, basket, coupons=[item, order])
    assert (sale.coupon_discount, sale.amount_due) == (Decimal("15.20"), Decimal("41.80"))

    done = refund(sale, [{"sku": "G", "qty": 1}])

    # The refund would pay back ¥4.03 (G net of its ¥0.97 share) but the member must end up
    # paying ¥46.80 for F: all ¥4.03 is kept back, and the ¥5.00 this refund cannot cover is
    # owed by the sale's next refund.
    assert done.amount_due == Decimal("4.03")
    assert done.coupon_clawback == Decimal("4.03")
    assert done.clawed_coupons == {order.code: "9.03"}
    rest = refund(sale)
    assert rest.amount_due - rest.coupon_clawback == Decimal("41.80")
    check_ledgers()
