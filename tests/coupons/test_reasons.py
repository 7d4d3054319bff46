"""Every reason a till can get for a coupon (API.md), through the quote, /coupons/evaluate and
the sale itself, and the printed-coupon rule: a stranger learns only not found / expired /
used until a code is proven valid."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
import time_machine

from core.models import Source
from coupons.models import Coupon
from coupons.services import print_coupons, void_coupon
from tests.api.conftest import make_member, post, till_client
from tests.coupons.conftest import give, make_template, shanghai

QUOTE = "/api/v1/sales/quote"
EVALUATE = "/api/v1/coupons/evaluate"
SALES = "/api/v1/sales"
PHONE = "13812345678"
MEMBER = {"phone": PHONE}


def lines(*amounts, category="grocery"):
    return [
        {"sku": f"S{i}", "name": "商品", "category": category, "qty": 1, "amount": amount}
        for i, amount in enumerate(amounts)
    ]


@pytest.fixture
def zhang(chain):
    return make_member(chain["SH001"], name="张三", phone=PHONE)


def reasons(response):
    assert response.status_code == 200, response.content
    return {c["code"]: c["reason"] for c in response.json()["coupons"]}


def quote(api, codes, basket, member=MEMBER):
    return post(api, QUOTE, {"member": member, "lines": basket, "coupon_codes": codes}, key=None)


def sale_refusal(api, codes, basket, receipt="R-1"):
    total = str(sum(Decimal(ln["amount"]) for ln in basket))
    response = post(
        api,
        SALES,
        {"receipt_no": receipt, "member": MEMBER, "lines": basket, "total": total,
         "coupon_codes": codes},
        key=f"k-{receipt}",
    )  # fmt: skip
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "coupon_not_usable"
    return body["fields"]["coupon_codes"]


def test_it_answers_not_found_for_an_unknown_or_malformed_code(api, zhang):
    printed_shape = "ABCDEFGHJKLMN"  # the right length, a wrong check character

    # Each code is answered as the till sent it.
    assert reasons(quote(api, [printed_shape, "x" * 40], lines("80.00"))) == {
        printed_shape: "coupon_not_found",
        "x" * 40: "coupon_not_found",
    }
    assert sale_refusal(api, [printed_shape], lines("80.00")) == [
        f"{printed_shape}: coupon_not_found"
    ]


def test_it_answers_not_owned_for_another_members_coupon(api, zhang, chain, cash10):
    other = make_member(chain["SH001"], name="李四")
    coupon = give(cash10, other)

    assert reasons(quote(api, [coupon.code], lines("80.00")))[coupon.code] == "coupon_not_owned"
    assert sale_refusal(api, [coupon.code], lines("80.00")) == [f"{coupon.code}: coupon_not_owned"]


def test_it_answers_not_started_until_the_first_day(api, zhang):
    later = make_template("LATER", face_value=Decimal("5"), starts_after_days=1)
    coupon = give(later, zhang)

    assert reasons(quote(api, [], lines("80.00")))[coupon.code] == "coupon_not_started"
    with time_machine.travel(coupon.valid_from, tick=False):
        assert reasons(quote(api, [coupon.code], lines("80.00")))[coupon.code] is None


def test_it_answers_expired_from_the_second_after_the_last_day(api, zhang, cash10):
    coupon = give(cash10, zhang)

    with time_machine.travel(coupon.valid_until + timedelta(seconds=1), tick=False):
        assert reasons(quote(api, [coupon.code], lines("80.00")))[coupon.code] == "coupon_expired"
        assert sale_refusal(api, [coupon.code], lines("80.00")) == [
            f"{coupon.code}: coupon_expired"
        ]


def test_it_answers_used_for_a_coupon_a_sale_took(api, zhang, cash10):
    coupon = give(cash10, zhang)
    basket = lines("80.00")
    taken = post(
        api,
        SALES,
        {"receipt_no": "R-0", "member": MEMBER, "lines": basket, "total": "80.00",
         "coupon_codes": [coupon.code]},
        key="first",
    )  # fmt: skip
    assert taken.status_code == 201
    assert taken.json()["coupons_used"] == [{"code": coupon.code, "discount": "10.00"}]

    assert reasons(quote(api, [coupon.code], basket))[coupon.code] == "coupon_used"
    assert sale_refusal(api, [coupon.code], basket) == [f"{coupon.code}: coupon_used"]


def test_it_answers_voided_for_a_voided_member_coupon(api, zhang, cash10):
    coupon = give(cash10, zhang)
    void_coupon(coupon=coupon, reason="发错", source=Source.ADMIN)

    assert reasons(quote(api, [coupon.code], lines("80.00")))[coupon.code] == "coupon_voided"


def test_it_answers_store_not_allowed_outside_the_listed_stores(chain, zhang, sh001only):
    from stores.services import create_terminal

    _terminal, key = create_terminal(store_code="BJ001", code="POS09")
    coupon = give(sh001only, zhang)
    beijing = till_client(key)

    assert reasons(quote(beijing, [coupon.code], lines("80.00")))[coupon.code] == (
        "coupon_store_not_allowed"
    )
    assert sale_refusal(beijing, [coupon.code], lines("80.00")) == [
        f"{coupon.code}: coupon_store_not_allowed"
    ]


def test_it_answers_time_not_allowed_outside_the_weekdays_and_hours(api, zhang):
    mornings = make_template(
        "MORNING",
        face_value=Decimal("3"),
        weekdays="1,2,3,4,5",
        hour_from=time(7, 0),
        hour_until=time(10, 0),
    )
    with time_machine.travel(shanghai(2026, 11, 29, 12, 0), tick=False):  # a Sunday
        coupon = give(mornings, zhang)
        assert reasons(quote(api, [coupon.code], lines("9.00")))[coupon.code] == (
            "coupon_time_not_allowed"
        )
    with time_machine.travel(shanghai(2026, 11, 30, 8, 0), tick=False):  # Monday morning
        assert reasons(quote(api, [coupon.code], lines("9.00")))[coupon.code] is None
    for outside in (
        shanghai(2026, 11, 30, 6, 59, 59),  # before the first hour
        shanghai(2026, 11, 30, 10, 0, 1),  # after the last minute
        shanghai(2026, 12, 5, 8, 0),  # a Saturday
    ):
        with time_machine.travel(outside, tick=False):
            assert reasons(quote(api, [coupon.code], lines("9.00")))[coupon.code] == (
                "coupon_time_not_allowed"
            ), outside
    with time_machine.travel(shanghai(2026, 11, 30, 10, 0, 0), tick=False):
        assert reasons(quote(api, [coupon.code], lines("9.00")))[coupon.code] is None


def test_it_answers_threshold_not_met_with_the_shortfall(api, zhang, cash10):
    coupon = give(cash10, zhang)

    below = quote(api, [coupon.code], lines("30.00", "19.99")).json()["coupons"][0]
    at = quote(api, [coupon.code], lines("30.00", "20.00")).json()["coupons"][0]

    assert below["reason"] == "coupon_threshold_not_met" and below["shortfall"] == "0.01"
    assert below["applicable"] is False and below["discount"] == "0.00"
    assert at["reason"] is None and at["applicable"] is True and at["discount"] == "10.00"
    assert at["shortfall"] is None


def test_it_answers_no_eligible_items_when_no_line_is_in_scope(api, zhang, fresh90):
    coupon = give(fresh90, zhang)

    assert reasons(quote(api, [coupon.code], lines("80.00")))[coupon.code] == (
        "coupon_no_eligible_items"
    )
    assert reasons(quote(api, [coupon.code], lines("80.00", category="fresh")))[coupon.code] is None


def test_it_answers_not_combinable_for_a_lone_coupon_or_a_second_of_one_template(
    api, zhang, cash10, sh001only
):
    alone, cash = give(sh001only, zhang), give(cash10, zhang)
    second_cash = give(cash10, zhang)

    answer = reasons(quote(api, [alone.code, cash.code], lines("80.00")))
    two_of_one = reasons(quote(api, [cash.code, second_cash.code], lines("80.00")))

    assert sorted([str(answer[alone.code]), str(answer[cash.code])]) == [
        "None",
        "coupon_not_combinable",
    ]
    assert sorted([str(two_of_one[cash.code]), str(two_of_one[second_cash.code])]) == [
        "None",
        "coupon_not_combinable",
    ]
    assert sale_refusal(api, [alone.code, cash.code], lines("80.00"))[0].endswith(
        ": coupon_not_combinable"
    )


def test_the_quote_lists_every_coupon_the_member_holds(api, zhang, cash10, fresh90):
    cash, fresh = give(cash10, zhang), give(fresh90, zhang)

    listed = quote(api, [cash.code], lines("80.00")).json()

    assert {c["code"] for c in listed["coupons"]} == {cash.code, fresh.code}
    assert listed["coupon_discount"] == "10.00" and listed["amount_due"] == "70.00"


def test_evaluate_checks_a_printed_coupon_without_a_member(api, chain, cash10):
    (code,) = print_coupons(template=cash10, count=1, run="t1", source=Source.ADMIN)

    response = post(api, EVALUATE, {"lines": lines("80.00"), "coupon_codes": [code]}, key=None)

    assert response.status_code == 200
    assert response.json() == {
        "coupon_discount": "10.00",
        "coupons": [
            {"code": code, "name": cash10.name, "applicable": True, "reason": None,
             "discount": "10.00", "shortfall": None}
        ],
    }  # fmt: skip


def test_a_printed_code_answers_only_not_found_expired_or_used(api, chain, zhang, cash10):
    later = make_template("LATERP", face_value=Decimal("5"), starts_after_days=3)
    (voided,) = print_coupons(template=cash10, count=1, run="v", source=Source.ADMIN)
    (not_started,) = print_coupons(template=later, count=1, run="n", source=Source.ADMIN)
    void_coupon(coupon=Coupon.objects.get(code=voided), reason="作废", source=Source.ADMIN)
    (used,) = print_coupons(template=cash10, count=1, run="u", source=Source.ADMIN)
    assert (
        post(
            api,
            SALES,
            {"receipt_no": "P-1", "member": MEMBER, "lines": lines("80.00"), "total": "80.00",
             "coupon_codes": [used]},
            key="p1",
        ).status_code
        == 201
    )  # fmt: skip

    answer = post(
        api, EVALUATE, {"lines": lines("80.00"), "coupon_codes": [voided, not_started, used]},
        key=None,
    ).json()  # fmt: skip

    assert {c["code"]: c["reason"] for c in answer["coupons"]} == {
        voided: "coupon_not_found",
        not_started: "coupon_not_found",
        used: "coupon_used",
    }


def test_evaluate_refuses_a_malformed_body_with_the_error_shape(api, chain):
    response = post(api, EVALUATE, {"lines": "nope", "coupon_codes": "x"}, key=None)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "detail", "fields"}
