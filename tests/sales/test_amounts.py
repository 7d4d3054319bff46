"""What the till collects and gives back, to the cent: amount_due after stored value, partial
refunds across lines of one sku, and what the quote tells the till about redemption."""

from decimal import Decimal

from sales.services import quote_sale, refund_sale
from tests.sales.test_sales import give, sell
from wallet.ledger import open_wallet, post_wallet_entry

from .conftest import line


def test_a_refund_of_one_amount_across_three_lines_of_a_sku_returns_every_cent(
    chain, rules, member, check_ledgers
):
    sale = sell(
        member,
        chain["SH001"],
        lines=[line("A", "5.00"), line("A", "5.00"), line("A", "5.00")],
    )

    refund = refund_sale(
        sale=sale,
        refund_no="F1",
        source="till",
        lines=[{"sku": "A", "qty": 3, "amount": "10.00"}],
    )

    assert refund.amount == Decimal("10.00")
    assert sorted(rl.amount for rl in refund.lines.all()) == [
        Decimal("3.33"),
        Decimal("3.33"),
        Decimal("3.34"),
    ]
    check_ledgers()


def test_a_sale_paid_wholly_from_stored_value_leaves_nothing_to_collect(
    chain, rules, member, check_ledgers
):
    open_wallet(member)
    post_wallet_entry(
        member=member, kind="recharge", principal="100.00", bonus="0.00", source="admin"
    )
    give(member, 1000)

    sale = sell(
        member,
        chain["SH001"],
        lines=[line(amount="60.00")],
        redeem_points=1000,
        stored_value_amount=Decimal("50.00"),
    )

    from sales.api.views import sale_answer

    answer = sale_answer(sale)
    assert answer["offset_amount"] == "10.00"
    assert answer["stored_value_used"] == "50.00"
    assert answer["amount_due"] == "0.00"  # total - offset - coupons - stored value
    assert answer["stored_value"] == "50.00"
    assert sale.points_earned == 50  # stored value counts as paid
    check_ledgers()


def test_the_quote_tells_the_till_the_redemption_minimum_and_step(chain, rules, member):
    rules["redeem"].min_points = 300
    rules["redeem"].step = 100
    rules["redeem"].save()
    give(member, 2000)

    quote = quote_sale(store=chain["SH001"], member=member, lines=[line(amount="100.00")])

    assert (quote["min_redeem_points"], quote["redeem_step"]) == (300, 100)
    assert quote["max_redeem_points"] % 100 == 0
    assert quote["amount_due"] == Decimal("100.00")


def test_the_quote_without_a_redemption_rule_says_zero(chain, rules, member):
    rules["redeem"].delete()

    quote = quote_sale(store=chain["SH001"], member=member, lines=[line()])

    assert (quote["min_redeem_points"], quote["redeem_step"], quote["max_redeem_points"]) == (
        0,
        0,
        0,
    )
