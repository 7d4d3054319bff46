"""Coupons at the checkout: the order they apply in, their discount spread over the lines to the
cent, points earned on what was paid, mixed tenders reconciling, and replays."""

from decimal import Decimal

import pytest

from coupons.exceptions import CouponNotUsable
from coupons.models import Coupon, CouponEvent
from sales.models import SaleCoupon
from sales.services import quote_sale
from tests.coupons.conftest import checkout, give, grant_points, line
from wallet.ledger import open_wallet
from wallet.services import recharge_wallet

pytestmark = pytest.mark.usefixtures("rules")


def test_it_takes_a_cash_coupon_off_and_spreads_it_over_the_lines_to_the_cent(member, cash10):
    coupon = give(cash10, member)

    sale = checkout(
        member,
        [line("A", "33.33"), line("B", "33.33"), line("C", "33.34")],
        coupons=[coupon],
    )

    assert sale.coupon_discount == Decimal("10.00")
    shares = [ln.coupon_discount for ln in sale.lines.order_by("line_no")]
    assert sum(shares) == Decimal("10.00")
    assert sorted(shares) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    use = SaleCoupon.objects.get(sale=sale)
    assert use.discount == Decimal("10.00") and sum(map(Decimal, use.lines.values())) == 10
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED and coupon.used_store == member.home_store
    assert coupon.events.filter(kind=CouponEvent.Kind.USED, discount=Decimal("10.00")).exists()


def test_it_earns_points_on_what_was_paid_after_the_coupon(member, cash10):
    sale = checkout(member, [line("A", "100.00")], coupons=[give(cash10, member)])

    assert sale.amount_due == Decimal("90.00")
    assert sale.points_earned == 90


def test_it_applies_item_coupons_before_order_coupons(member, cash10, fresh90):
    # 10% of the fresh line (¥60 -> ¥6) first; then 满50减10 on what is left (¥54 + ¥20).
    cash, fresh = give(cash10, member), give(fresh90, member)

    sale = checkout(
        member,
        [line("F", "60.00", category="fresh"), line("G", "20.00")],
        coupons=[cash, fresh],
    )

    uses = {u.coupon.code: u for u in SaleCoupon.objects.filter(sale=sale)}
    assert uses[fresh.code].discount == Decimal("6.00")
    assert uses[cash.code].discount == Decimal("10.00")
    assert sale.coupon_discount == Decimal("16.00")
    assert sale.amount_due == Decimal("64.00")


def test_an_order_coupon_sees_the_threshold_after_the_item_coupon(member, cash10, fresh90):
    # ¥55 of fresh food: 10% off leaves ¥49.50, below 满50.
    with pytest.raises(CouponNotUsable) as refused:
        checkout(
            member,
            [line("F", "55.00", category="fresh")],
            coupons=[give(cash10, member), give(fresh90, member)],
        )

    assert any("coupon_threshold_not_met" in p for p in refused.value.fields["coupon_codes"])
    assert not SaleCoupon.objects.exists()
    assert Coupon.objects.filter(status=Coupon.Status.AVAILABLE).count() == 2


def test_coupon_points_and_stored_value_reconcile_to_the_cent(member, cash10, check_ledgers):
    open_wallet(member)
    recharge_wallet(
        member=member, amount=Decimal("30.00"), store=member.home_store, source="admin",
        key="test-recharge",
    )  # fmt: skip
    grant_points(member, 2000)
    lines = [line("A", "45.55"), line("B", "54.45", category="fresh")]

    sale = checkout(
        member,
        lines,
        coupons=[give(cash10, member)],
        redeem_points=1500,
        stored_value_amount=Decimal("30.00"),
    )

    assert sale.coupon_discount == Decimal("10.00")
    assert sale.offset_amount == Decimal("15.00")
    assert sale.stored_value_amount == Decimal("30.00")
    assert sale.total - sale.coupon_discount - sale.offset_amount - sale.stored_value_amount == (
        Decimal("45.00")
    )
    for ln in sale.lines.all():
        assert ln.coupon_discount + ln.offset_amount + ln.stored_value_amount <= ln.amount
    assert sum(ln.coupon_discount for ln in sale.lines.all()) == sale.coupon_discount
    assert sum(ln.offset_amount for ln in sale.lines.all()) == sale.offset_amount
    assert sum(ln.stored_value_amount for ln in sale.lines.all()) == sale.stored_value_amount
    # Points on what the member paid (stored value counts as paid): 100 - 10 - 15 = 75.
    assert sale.points_earned == 75
    check_ledgers()


def test_the_points_offset_works_on_what_the_coupon_left(member, cash10):
    grant_points(member, 10_000)
    # 50% of ¥60 - ¥10 = ¥25 at most.
    quote = quote_sale(
        store=member.home_store,
        member=member,
        lines=[line("A", "60.00")],
        coupon_codes=[give(cash10, member).code],
    )

    assert quote["coupon_discount"] == Decimal("10.00")
    assert quote["max_offset_amount"] == Decimal("25.00")


def test_a_replayed_sale_uses_its_coupon_once(member, cash10, check_ledgers):
    coupon = give(cash10, member)
    first = checkout(member, [line("A", "80.00")], coupons=[coupon], receipt_no="R-1")

    again = checkout(member, [line("A", "80.00")], coupons=[coupon], receipt_no="R-1")

    assert again.replayed and again.pk == first.pk
    assert coupon.events.filter(kind=CouponEvent.Kind.USED).count() == 1
    check_ledgers()


def test_a_used_coupon_is_refused_on_the_next_sale(member, cash10):
    coupon = give(cash10, member)
    checkout(member, [line("A", "80.00")], coupons=[coupon])

    with pytest.raises(CouponNotUsable) as refused:
        checkout(member, [line("A", "80.00")], coupons=[coupon])

    assert refused.value.fields["coupon_codes"] == [f"{coupon.code}: coupon_used"]


def test_a_code_listed_twice_is_refused(member, cash10):
    coupon = give(cash10, member)

    with pytest.raises(Exception) as refused:
        checkout(member, [line("A", "80.00")], coupons=[coupon, coupon])

    assert getattr(refused.value, "code", "") == "invalid"


def test_a_refused_coupon_leaves_nothing_of_the_sale(member, cash10, check_ledgers):
    good, other_member_coupon = give(cash10, member), "NOTACOUPON"

    with pytest.raises(CouponNotUsable):
        checkout(member, [line("A", "80.00")], coupons=[good, other_member_coupon])

    good.refresh_from_db()
    assert good.status == Coupon.Status.AVAILABLE
    assert not member.sales.exists()
    check_ledgers()
