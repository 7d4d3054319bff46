from decimal import Decimal

import pytest

from core.models import Source
from loyalty.models import EarningRule, PointsEntry, RedemptionRule
from loyalty.services import grant_opening_points
from members.models import Member
from members.services import set_members_status
from sales.models import Refund, Sale
from wallet.models import WalletEntry
from wallet.services import recharge_wallet

from .conftest import make_member, post, till_client

QUOTE = "/api/v1/sales/quote"
SALES = "/api/v1/sales"
PHONE = "13812345678"
SALE_FIELDS = {
    "receipt_no",
    "points_earned",
    "points_redeemed",
    "offset_amount",
    "coupon_discount",
    "coupons_used",
    "stored_value_used",
    "amount_due",
    "points",
    "stored_value",
    "tier",
    "tier_changed",
}
REFUND_FIELDS = {
    "refund_no",
    "points_reversed",
    "points_returned",
    "stored_value_returned",
    "cash_returned",
    "coupons_returned",
    "points",
    "stored_value",
}


@pytest.fixture
def rules(chain):
    """1 point per yuan; 100 points = 1 yuan off, up to half of a basket, never on tobacco."""
    EarningRule.objects.create(name="基础积分", kind="per_amount", points=1, per_amount=1)
    RedemptionRule.objects.create(
        name="积分抵现", points_per_yuan=100, max_share_percent=50, excluded_categories="tobacco"
    )


@pytest.fixture
def rich(chain, rules):
    """A member with 1000 points and 100.00 of stored value."""
    member = make_member(chain["SH001"], name="张三", phone=PHONE)
    grant_opening_points(member=member, points=1000, source=Source.ADMIN)
    recharge_wallet(member=member, amount=Decimal("100.00"), source=Source.ADMIN)
    return member


def basket(receipt_no="R0001", **extra):
    body = {
        "receipt_no": receipt_no,
        "member": {"phone": PHONE},
        "lines": [
            {"sku": "A1", "name": "面包", "category": "bakery", "qty": "2", "amount": "60.00"},
            {"sku": "B2", "name": "牛奶", "category": "dairy", "qty": "1", "amount": "40.00"},
        ],
        "total": "100.00",
    }
    body.update(extra)
    return body


def code_of(response):
    return response.json()["code"]


# --- POST /sales/quote


def test_it_quotes_a_basket_without_changing_anything(api, rich, check_ledgers):
    before = PointsEntry.objects.count()
    body = {"member": {"phone": PHONE}, "lines": basket()["lines"], "redeem_points": 200}

    response = post(api, QUOTE, body)

    assert response.status_code == 200
    assert response.json() == {
        "points_to_earn": 98,
        "max_redeem_points": 1000,
        "min_redeem_points": 1,
        "redeem_step": 1,
        "max_offset_amount": "10.00",
        "offset_amount": "2.00",
        "coupon_discount": "0.00",
        "amount_due": "98.00",
        "coupons": [],
    }
    assert PointsEntry.objects.count() == before and not Sale.objects.exists()
    check_ledgers()


def test_a_quote_changes_nothing_so_it_needs_no_key_and_a_key_is_not_kept(api, rich):
    body = {"member": {"phone": PHONE}, "lines": basket()["lines"]}
    first = post(api, QUOTE, body, key="q1")

    again = post(api, QUOTE, body, key="q1")
    other = post(api, QUOTE, {**body, "redeem_points": 100}, key="q1")
    keyless = post(api, QUOTE, body, key=None)

    assert again.json() == first.json() == keyless.json()
    assert "Idempotent-Replayed" not in again
    assert other.status_code == 200 and other.json()["offset_amount"] == "1.00"


def test_it_quotes_a_redemption_outside_the_rules_as_refused(api, rich):
    body = {"member": {"phone": PHONE}, "lines": basket()["lines"], "redeem_points": 5100}

    response = post(api, QUOTE, body)

    assert response.status_code == 422 and code_of(response) == "insufficient_points"


# --- POST /sales


def test_it_checks_out_with_points_and_stored_value_in_one_call(api, rich, check_ledgers):
    body = basket(redeem_points=500, stored_value_amount="30.00")

    response = post(api, SALES, body)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == SALE_FIELDS
    assert answer["points_redeemed"] == 500 and answer["offset_amount"] == "5.00"
    # What the cashier still collects: 100 - 5.00 points offset - 30.00 stored value; points
    # are earned on what the member paid, stored value included.
    assert answer["stored_value_used"] == "30.00" and answer["amount_due"] == "65.00"
    assert answer["points_earned"] == 95
    assert answer["points"] == 1000 - 500 + 95
    assert answer["stored_value"] == "70.00"
    assert answer["tier_changed"] is False
    check_ledgers()


def test_it_replays_a_checkout_without_posting_twice(api, rich, check_ledgers):
    first = post(api, SALES, basket(redeem_points=100), key="s1")

    again = post(api, SALES, basket(redeem_points=100), key="s1")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Sale.objects.count() == 1
    assert rich.points_account.__class__.objects.get(member=rich).balance == 1000 - 100 + 99
    check_ledgers()


def test_it_refuses_a_reused_key_for_another_checkout(api, rich, check_ledgers):
    post(api, SALES, basket("R0001"), key="s1")

    response = post(api, SALES, basket("R0002"), key="s1")

    assert response.status_code == 409 and code_of(response) == "idempotency_key_reused"
    assert list(Sale.objects.values_list("receipt_no", flat=True)) == ["R0001"]
    check_ledgers()


def test_it_never_posts_a_receipt_twice_even_with_a_fresh_key(api, rich, check_ledgers):
    first = post(api, SALES, basket(), key="s1")

    again = post(api, SALES, basket(), key="s2")

    assert again.status_code == 201 and again.json()["receipt_no"] == first.json()["receipt_no"]
    assert Sale.objects.count() == 1
    check_ledgers()


def test_it_refuses_a_used_receipt_number_with_another_body(api, rich, check_ledgers):
    post(api, SALES, basket(), key="s1")

    response = post(api, SALES, basket(redeem_points=100), key="s2")

    assert response.status_code == 409 and code_of(response) == "duplicate_receipt"
    check_ledgers()


def test_it_refuses_more_points_than_the_member_has(api, rich, check_ledgers):
    response = post(api, SALES, basket(redeem_points=1100))

    assert response.status_code == 422 and code_of(response) == "insufficient_points"
    assert not Sale.objects.exists()
    check_ledgers()


def test_it_refuses_a_redemption_over_the_share_the_rule_allows(api, rich, check_ledgers):
    grant_opening_points(member=rich, points=9000, source=Source.ADMIN)

    response = post(api, SALES, basket(redeem_points=5100))  # half of 100.00 is 5000 points

    assert response.status_code == 422 and code_of(response) == "redemption_not_allowed"
    check_ledgers()


def test_it_refuses_a_redemption_on_excluded_goods(api, rich, check_ledgers):
    lines = [{"sku": "T1", "name": "香烟", "category": "tobacco", "qty": "1", "amount": "50.00"}]

    response = post(api, SALES, basket(lines=lines, total="50.00", redeem_points=100))

    assert response.status_code == 422 and code_of(response) == "redemption_not_allowed"
    assert not Sale.objects.exists()
    check_ledgers()


def test_it_refuses_more_stored_value_than_the_wallet_holds_and_keeps_the_points(
    api, rich, check_ledgers
):
    response = post(api, SALES, basket(redeem_points=500, stored_value_amount="90.00"))

    # 95.00 due, 90.00 from a wallet holding 100.00 is fine; 95.00 from 90 would not be:
    assert response.status_code == 201
    again = post(api, SALES, basket("R0002", redeem_points=0, stored_value_amount="20.00"), "k2")

    assert again.status_code == 422 and code_of(again) == "insufficient_stored_value"
    assert Sale.objects.count() == 1  # all or nothing: no points earned on the refused one
    check_ledgers()


def test_it_stores_a_refused_checkout_and_replays_the_refusal(api, rich):
    refused = post(api, SALES, basket(redeem_points=1100), key="s1")
    grant_opening_points(member=rich, points=1000, source=Source.ADMIN)

    again = post(api, SALES, basket(redeem_points=1100), key="s1")

    assert again.status_code == 422 and again.json() == refused.json()
    assert again["Idempotent-Replayed"] == "true" and not Sale.objects.exists()


def test_it_refuses_an_unknown_member_with_404(api, rules):
    response = post(api, SALES, basket())

    assert response.status_code == 404 and code_of(response) == "member_not_found"


def test_it_refuses_a_closed_member_with_403(api, rich):
    set_members_status(
        members=Member.objects.filter(pk=rich.pk), status="closed", source=Source.ADMIN
    )

    response = post(api, SALES, basket())

    assert response.status_code == 403 and code_of(response) == "member_inactive"


def test_it_refuses_a_total_that_is_not_the_sum_of_the_lines(api, rich):
    response = post(api, SALES, basket(total="99.99"))

    assert response.status_code == 400 and code_of(response) == "invalid"
    assert "total" in response.json()["fields"]


def test_it_posts_for_the_tills_own_store_only(api, rich, till):
    post(api, SALES, basket())

    assert Sale.objects.get().store == till.store


# --- GET /sales/{receipt_no}


def test_it_answers_did_this_sale_go_through(api, rich):
    posted = post(api, SALES, basket(redeem_points=100, stored_value_amount="10.00")).json()
    post(api, SALES, basket("R0002"), key="later")  # balances moved on since

    response = api.get(f"{SALES}/R0001")

    assert response.status_code == 200
    answer = response.json()
    assert answer.pop("refunds") == []
    assert answer == posted


def test_it_answers_an_unknown_receipt_with_404(api, rich):
    response = api.get(f"{SALES}/NOPE")

    assert response.status_code == 404 and code_of(response) == "sale_not_found"


def test_it_hides_another_stores_sale(api, rich, other_till):
    post(api, SALES, basket())

    response = till_client(other_till.key).get(f"{SALES}/R0001")

    assert response.status_code == 404 and code_of(response) == "sale_not_found"


# --- POST /sales/{receipt_no}/refunds


def refund(api, body, receipt_no="R0001", key="f1"):
    return post(api, f"{SALES}/{receipt_no}/refunds", body, key=key)


def test_it_refunds_a_whole_sale(api, rich, check_ledgers):
    post(api, SALES, basket(redeem_points=500, stored_value_amount="30.00"))

    response = refund(api, {"refund_no": "F1"})

    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == REFUND_FIELDS
    assert answer["points_reversed"] == 95 and answer["points_returned"] == 500
    assert answer["stored_value_returned"] == "30.00"
    assert answer["points"] == 1000 and answer["stored_value"] == "100.00"
    check_ledgers()


def test_it_refunds_a_refunded_sale_only_for_what_is_left(api, rich, check_ledgers):
    post(api, SALES, basket(redeem_points=500))
    first = refund(
        api, {"refund_no": "F1", "lines": [{"sku": "A1", "qty": "1", "amount": "30.00"}]}
    )

    rest = refund(api, {"refund_no": "F2"}, key="f2")
    nothing_left = refund(api, {"refund_no": "F3"}, key="f3")

    assert first.status_code == rest.status_code == 201
    assert (
        first.json()["points_reversed"] + rest.json()["points_reversed"] == 95
    )  # never more than the sale earned
    assert first.json()["points_returned"] + rest.json()["points_returned"] == 500
    assert rest.json()["points"] == 1000
    assert nothing_left.status_code == 422 and code_of(nothing_left) == "refund_exceeds_sale"
    check_ledgers()


def test_it_refuses_to_refund_more_than_is_left(api, rich, check_ledgers):
    post(api, SALES, basket())

    response = refund(
        api, {"refund_no": "F1", "lines": [{"sku": "A1", "qty": "3", "amount": "90.00"}]}
    )

    assert response.status_code == 422 and code_of(response) == "refund_exceeds_sale"
    assert not Refund.objects.exists()
    check_ledgers()


def test_it_replays_a_refund_and_refuses_its_key_for_another(api, rich, check_ledgers):
    post(api, SALES, basket())
    first = refund(
        api, {"refund_no": "F1", "lines": [{"sku": "A1", "qty": "1", "amount": "30.00"}]}
    )

    again = refund(
        api, {"refund_no": "F1", "lines": [{"sku": "A1", "qty": "1", "amount": "30.00"}]}
    )
    other = refund(api, {"refund_no": "F2"})

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and code_of(other) == "idempotency_key_reused"
    assert Refund.objects.count() == 1
    check_ledgers()


def test_it_refuses_a_refund_of_an_unknown_sale(api, rich):
    response = refund(api, {"refund_no": "F1"}, receipt_no="NOPE")

    assert response.status_code == 404 and code_of(response) == "sale_not_found"


def test_it_lists_the_refunds_of_a_sale(api, rich):
    post(api, SALES, basket(stored_value_amount="10.00"))
    refunded = refund(
        api, {"refund_no": "F1", "lines": [{"sku": "B2", "qty": "1", "amount": "40.00"}]}
    ).json()

    answer = api.get(f"{SALES}/R0001").json()

    assert answer["refunds"] == [refunded]
    assert WalletEntry.objects.filter(kind=WalletEntry.Kind.REFUND).count() == 1


def test_it_checks_out_in_a_bounded_number_of_queries(api, rich, django_assert_max_num_queries):
    post(api, SALES, basket("R0000"), key="warm")  # first sale of the day reads the rules cold

    # 34 statements today, savepoints included: 9 are the API's (key, claim, member, balances,
    # stored answer), the rest post_sale's with a stored-value payment.
    with django_assert_max_num_queries(36):
        response = post(api, SALES, basket(redeem_points=100, stored_value_amount="10.00"))

    assert response.status_code == 201
