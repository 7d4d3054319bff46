"""refund_sale: reverse what lines earned, return what they used, never more than the sale."""

from decimal import Decimal

import pytest

from loyalty.models import EarningRule, PointsAccount, PointsLot
from sales.exceptions import RefundExceedsSale
from sales.services import refund_sale
from wallet.ledger import open_wallet, post_wallet_entry
from wallet.models import Wallet

from .conftest import line
from .test_sales import give, sell


def account(member):
    return PointsAccount.objects.get(member=member)


def test_a_refund_after_partial_redemption_returns_the_lots_it_spent(
    chain, rules, member, check_ledgers
):
    # given 1,000 points in one lot and a 100-yuan sale of two lines paying 500 points
    give(member, 1000)
    lot = PointsLot.objects.get(account__member=member)
    sale = sell(
        member, chain["SH001"], lines=[line("A", "60.00"), line("B", "40.00")], redeem_points=500
    )
    assert sale.points_earned == 95 and account(member).balance == 595

    # when line A (60%) is refunded
    refund = refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "A", "qty": 1}])

    # then A's share of the redeemed points goes back to the very lot, and A's earnings leave
    assert refund.points_returned == 300 and refund.points_reversed == 57
    lot.refresh_from_db()
    assert lot.remaining == 500 + 300
    assert account(member).balance == 595 + 300 - 57
    check_ledgers()

    # and refunding the rest brings the member back to where they started
    refund_sale(sale=sale, refund_no="RF2", source="till")
    assert account(member).balance == 1000
    lot.refresh_from_db()
    assert lot.remaining == 1000
    check_ledgers()


def test_partial_refunds_never_reverse_more_than_the_sale_had(chain, rules, member, check_ledgers):
    sale = sell(member, chain["SH001"], lines=[line("A", "10.00", qty=3)])
    assert sale.points_earned == 10

    first = refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "A", "qty": 1}])
    second = refund_sale(sale=sale, refund_no="RF2", source="till", lines=[{"sku": "A", "qty": 1}])
    third = refund_sale(sale=sale, refund_no="RF3", source="till", lines=[{"sku": "A", "qty": 1}])

    # 3 + 3 + 4: the last refund takes exactly what is left
    assert [first.points_reversed, second.points_reversed, third.points_reversed] == [3, 3, 4]
    assert sum(r.amount for r in (first, second, third)) == Decimal("10.00")
    with pytest.raises(RefundExceedsSale):
        refund_sale(sale=sale, refund_no="RF4", source="till", lines=[{"sku": "A", "qty": 1}])
    with pytest.raises(RefundExceedsSale):
        refund_sale(sale=sale, refund_no="RF5", source="till")
    assert account(member).balance == 0
    check_ledgers()


def test_a_refund_asking_for_more_than_was_sold_is_refused(chain, rules, member, check_ledgers):
    sale = sell(member, chain["SH001"], lines=[line("A", "10.00", qty=2)])

    with pytest.raises(RefundExceedsSale):
        refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "A", "qty": 3}])
    with pytest.raises(RefundExceedsSale):
        refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "Z", "qty": 1}])
    assert account(member).balance == 10
    check_ledgers()


def test_the_same_refund_no_returns_the_first_refund(chain, rules, member, check_ledgers):
    sale = sell(member, chain["SH001"])

    first = refund_sale(sale=sale, refund_no="RF1", source="till")
    again = refund_sale(sale=sale, refund_no="RF1", source="till")

    assert again.pk == first.pk and account(member).balance == 0
    check_ledgers()


def test_a_refund_of_spent_earnings_leaves_an_open_debt_paid_by_the_next_sale(
    chain, rules, member, check_ledgers
):
    sale = sell(member, chain["SH001"], "R1", lines=[line(amount="200.00")])
    sell(member, chain["SH001"], "R2", lines=[line(amount="10.00")], redeem_points=200)
    assert account(member).balance == 8  # 200 earned, 200 spent, 8 earned on 8 yuan paid

    refund_sale(sale=sale, refund_no="RF1", source="till")

    acc = account(member)
    assert acc.balance == -192 and acc.in_debt
    check_ledgers()
    sell(member, chain["SH001"], "R3", lines=[line(amount="300.00")])
    assert account(member).balance == 108
    assert PointsLot.objects.filter(account__member=member, remaining__gt=0).count() == 1
    check_ledgers()


def test_a_line_refund_reverses_that_lines_category_points_not_a_share_of_the_total(
    chain, rules, member, check_ledgers
):
    EarningRule.objects.create(
        name="生鲜5倍",
        kind=EarningRule.Kind.PER_AMOUNT,
        points=5,
        categories="fresh",
        priority=10,
        exclusive=True,
    )
    sale = sell(
        member, chain["SH001"], lines=[line("F", "50.00", category="fresh"), line("G", "50.00")]
    )
    assert sale.points_earned == 300

    refund = refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "F", "qty": 1}])

    # half the amount, but the fresh line earned 250 of the 300
    assert refund.points_reversed == 250 and refund.amount == Decimal("50.00")
    check_ledgers()


def test_a_refund_returns_stored_value_and_takes_back_tier_progress(
    chain, rules, member, check_ledgers
):
    open_wallet(member)
    post_wallet_entry(
        member=member, kind="recharge", principal=Decimal("80"), bonus=Decimal("20"), source="admin"
    )
    sale = sell(
        member,
        chain["SH001"],
        lines=[line("A", "60.00"), line("B", "40.00")],
        stored_value_amount=Decimal("100.00"),
    )

    refund = refund_sale(sale=sale, refund_no="RF1", source="till", lines=[{"sku": "B", "qty": 1}])

    assert refund.stored_value_returned == Decimal("40.00")
    assert Wallet.objects.get(member=member).balance == Decimal("40.00")
    assert account(member).qualifying_spend == Decimal("60.00")
    check_ledgers()
