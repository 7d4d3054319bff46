"""Business numbers back the Idempotency-Key up (API.md): receipt, refund, recharge and visit
numbers are unique per store for ever. A repeat with the same body under a fresh key answers
what the first call answered, marked `Idempotent-Replayed: true`; another body gets 409."""

from decimal import Decimal

import pytest

from core.models import Source
from countcards.models import CountCardEntry, CountCardPackage
from countcards.services import sell_count_card
from loyalty.models import EarningRule, RedemptionRule
from sales.models import Refund
from wallet.models import WalletEntry
from wallet.services import recharge_wallet

from .conftest import make_member, post, till_client

PHONE = "13812345678"


@pytest.fixture
def member(chain):
    EarningRule.objects.create(name="基础积分", kind="per_amount", points=1, per_amount=1)
    RedemptionRule.objects.create(name="积分抵现", points_per_yuan=100, max_share_percent=50)
    return make_member(chain["SH001"], phone=PHONE)


def sale_body(receipt_no="R1", amount="50.00", **extra):
    return {
        "receipt_no": receipt_no,
        "member": {"phone": PHONE},
        "lines": [{"sku": "A", "qty": "1", "amount": amount}],
        "total": amount,
        **extra,
    }


def test_a_receipt_repeated_under_a_fresh_key_answers_the_first_sale(api, member):
    first = post(api, "/api/v1/sales", sale_body(), key="k1")
    post(api, "/api/v1/sales", sale_body("R2"), key="k2")  # the balance moves on

    again = post(api, "/api/v1/sales", sale_body(), key="k3")
    changed = post(api, "/api/v1/sales", sale_body(amount="60.00"), key="k4")

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the first answer, balances included
    assert changed.status_code == 409 and changed.json()["code"] == "duplicate_receipt"


def test_refund_numbers_are_unique_per_store_not_per_sale(api, member):
    post(api, "/api/v1/sales", sale_body("R1"), key="s1")
    post(api, "/api/v1/sales", sale_body("R2"), key="s2")

    first = post(api, "/api/v1/sales/R1/refunds", {"refund_no": "F1"}, key="f1")
    again = post(api, "/api/v1/sales/R1/refunds", {"refund_no": "F1"}, key="f2")
    other_sale = post(api, "/api/v1/sales/R2/refunds", {"refund_no": "F1"}, key="f3")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert other_sale.status_code == 409 and other_sale.json()["code"] == "duplicate_refund"
    assert Refund.objects.count() == 1


def test_a_recharge_retried_under_a_fresh_key_is_applied_once(api, member):
    body = {"recharge_no": "RC-1", "member": {"phone": PHONE}, "amount": "100.00"}

    first = post(api, "/api/v1/wallet/recharges", body, key="k1")
    again = post(api, "/api/v1/wallet/recharges", body, key="k2")
    changed = post(api, "/api/v1/wallet/recharges", {**body, "amount": "200.00"}, key="k3")

    assert first.status_code == again.status_code == 201
    assert first.json()["recharge_no"] == "RC-1" and first.json()["stored_value"] == "100.00"
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert changed.status_code == 409 and changed.json()["code"] == "duplicate_recharge"
    assert WalletEntry.objects.filter(kind="recharge").count() == 1


def test_recharge_numbers_are_per_store(api, member, other_till):
    body = {"recharge_no": "RC-1", "member": {"phone": PHONE}, "amount": "100.00"}

    here = post(api, "/api/v1/wallet/recharges", body, key="k1")
    there = post(till_client(other_till.key), "/api/v1/wallet/recharges", body, key="k1")

    assert here.status_code == there.status_code == 201
    assert there.json()["stored_value"] == "200.00"


def test_an_old_till_without_a_recharge_number_still_recharges(api, member):
    body = {"member": {"phone": PHONE}, "amount": "100.00"}

    first = post(api, "/api/v1/wallet/recharges", body, key="k1")
    second = post(api, "/api/v1/wallet/recharges", body, key="k2")

    assert first.status_code == second.status_code == 201
    assert second.json()["stored_value"] == "200.00"  # only as safe as its keys


def test_a_visit_retried_under_a_fresh_key_uses_one_visit(api, member, chain, check_ledgers):
    package = CountCardPackage.objects.create(
        code="WASH10", name="洗车10次卡", visits=10, price=Decimal("300.00"), valid_days=30
    )
    card = sell_count_card(member=member, package=package, source=Source.ADMIN)
    body = {"visit_no": "V-1", "member": {"phone": PHONE}, "card_id": card.pk}

    first = post(api, "/api/v1/count-cards/visits", body, key="k1")
    again = post(api, "/api/v1/count-cards/visits", body, key="k2")
    changed = post(api, "/api/v1/count-cards/visits", {**body, "visits": 2}, key="k3")

    assert first.status_code == again.status_code == 201
    assert first.json()["visit_no"] == "V-1" and first.json()["visits_left"] == 9
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert changed.status_code == 409 and changed.json()["code"] == "duplicate_visit"
    assert CountCardEntry.objects.filter(kind="use").count() == 1
    check_ledgers()


def test_a_business_number_with_a_slash_is_refused(api, member):
    body = {"recharge_no": "RC/1", "member": {"phone": PHONE}, "amount": "100.00"}

    response = post(api, "/api/v1/wallet/recharges", body, key="k1")

    assert response.status_code == 400 and "recharge_no" in response.json()["fields"]


def test_the_quote_needs_no_idempotency_key_and_keeps_no_record(api, member):
    from stores.models import IdempotencyRecord

    recharge_wallet(member=member, amount=Decimal("10.00"), source=Source.ADMIN)
    body = {"member": {"phone": PHONE}, "lines": sale_body()["lines"]}

    response = post(api, "/api/v1/sales/quote", body, key=None)

    assert response.status_code == 200
    assert set(response.json()) >= {
        "min_redeem_points",
        "redeem_step",
        "coupon_discount",
        "amount_due",
        "coupons",
    }
    assert not IdempotencyRecord.objects.exists()
