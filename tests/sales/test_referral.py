"""Referral bonuses: paid once on the first qualifying sale, never to oneself, taken back when
that sale is wholly refunded, and not looked up again once paid."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import BonusRule, PointsAccount, PointsEntry
from members.exceptions import InvalidMember
from members.services import open_member
from sales.services import refund_sale
from tests.sales.test_sales import balance, sell

from .conftest import line


@pytest.fixture
def referral(db):
    return BonusRule.objects.create(
        kind="referral",
        name="推荐有礼",
        points=50,
        referrer_points=100,
        min_order_amount=Decimal("30.00"),
    )


@pytest.fixture
def pair(chain, rules, make_member):
    referrer = make_member(tier=rules["normal"])
    newcomer = make_member(tier=rules["normal"], referrer=referrer)
    return referrer, newcomer


def test_a_member_cannot_name_their_own_phone_as_referrer(chain, rules):
    with pytest.raises(InvalidMember) as refused:
        open_member(
            phone="13900001111",
            referrer_phone="13900001111",
            home_store=chain["SH001"],
            source="till",
        )
    assert "referrer_phone" in refused.value.fields


def test_the_first_qualifying_sale_pays_both_sides_once(chain, referral, pair, check_ledgers):
    referrer, newcomer = pair

    small = sell(newcomer, chain["SH001"], "R1", lines=[line(amount="20.00")])
    first = sell(newcomer, chain["SH001"], "R2", lines=[line(amount="40.00")])
    later = sell(newcomer, chain["SH001"], "R3", lines=[line(amount="40.00")])

    assert (small.referral_bonus, first.referral_bonus, later.referral_bonus) == (
        False,
        True,
        False,
    )
    assert balance(referrer) == 100
    assert balance(newcomer) == 20 + 40 + 50 + 40
    assert first.points_after == 20 + 40 + 50  # the till prints the balance with the bonus
    assert PointsAccount.objects.get(member=newcomer).referral_paid
    check_ledgers()


def test_a_wholly_refunded_qualifying_sale_takes_both_sides_back(
    chain, referral, pair, check_ledgers
):
    referrer, newcomer = pair
    sale = sell(newcomer, chain["SH001"], "R1", lines=[line(amount="40.00")])
    assert balance(referrer) == 100

    partial = refund_sale(
        sale=sale, refund_no="F1", source="till", lines=[{"sku": "A1", "qty": "0.5"}]
    )
    assert balance(referrer) == 100  # a partial refund keeps the referral
    rest = refund_sale(sale=sale, refund_no="F2", source="till")

    assert (partial.points_reversed, rest.points_reversed) == (20, 20)
    assert balance(referrer) == 0
    assert balance(newcomer) == 0
    reversals = PointsEntry.objects.filter(kind="bonus_reversal").order_by("points")
    assert [e.points for e in reversals] == [-100, -50]  # openly in the ledger
    assert not PointsAccount.objects.get(member=newcomer).referral_paid
    assert rest.points_after == 0
    check_ledgers()


def test_a_referral_taken_back_can_be_earned_by_a_later_qualifying_sale(
    chain, referral, pair, check_ledgers
):
    referrer, newcomer = pair
    sale = sell(newcomer, chain["SH001"], "R1", lines=[line(amount="40.00")])
    refund_sale(sale=sale, refund_no="F1", source="till")

    again = sell(newcomer, chain["SH001"], "R2", lines=[line(amount="40.00")])

    assert again.referral_bonus
    assert balance(referrer) == 100
    check_ledgers()


def test_a_referrer_who_spent_the_bonus_is_left_with_an_open_debt(
    chain, referral, pair, check_ledgers
):
    referrer, newcomer = pair
    sale = sell(newcomer, chain["SH001"], "R1", lines=[line(amount="40.00")])
    from tests.sales.test_sales import give

    give(referrer, -100)  # spent
    refund_sale(sale=sale, refund_no="F1", source="till")

    assert balance(referrer) == -100
    check_ledgers()


def test_once_paid_a_referred_members_sales_do_not_look_for_the_referral_again(
    chain, referral, pair, make_member, rules
):
    _referrer, newcomer = pair
    sell(newcomer, chain["SH001"], "R1", lines=[line(amount="40.00")])
    plain = make_member(tier=rules["normal"])
    sell(plain, chain["SH001"], "P1")
    sell(newcomer, chain["SH001"], "R2")  # warm: the rule book is loaded

    with CaptureQueriesContext(connection) as referred:
        sell(newcomer, chain["SH001"], "R3")
    with CaptureQueriesContext(connection) as not_referred:
        sell(plain, chain["SH001"], "P2")

    assert len(referred) == len(not_referred)
    assert not any("bonusrule" in q["sql"] for q in referred.captured_queries)
