"""Malformed input to the till API: a 4xx in the one error shape, never a 500, nothing kept.

Each case failed before its fix (issue 12): deep nesting and oversized bodies were 500s, a NUL
in a path reached PostgreSQL, 422 fields carried bare numbers, and a JSON number went through
a binary float before anyone looked at it.
"""

import json
import re
from decimal import Decimal

import pytest

from countcards.models import CountCardPackage
from countcards.services import sell_count_card
from sales.models import Sale
from stores.models import IdempotencyRecord

from .conftest import make_member, post
from .test_errors import assert_error
from .test_sales import PHONE, basket, rich, rules  # noqa: F401  (fixtures)

SALES = "/api/v1/sales"
CJK = re.compile(r"[\u4e00-\u9fff]")


def with_number(body, number):
    """`body` as JSON text with the bare JSON number `number` where it says "@N@"."""
    return json.dumps(body).replace('"@N@"', number)


def raw_post(api, url, text, key="key-1"):
    return api.post(url, text, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


# --- nesting


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        # Deep enough to refuse, shallow enough for Python's parser: the depth check, not
        # the recursion limit, answers.
        '{"member": ' + "[" * 100 + "]" * 100 + "}",
    ],
    ids=["arrays-50000", "objects-50000", "arrays-100"],
)
def test_deeply_nested_json_is_a_400_parse_error(api, chain, text):
    response = raw_post(api, SALES, text)

    body = assert_error(response, 400, "parse_error")
    assert "nested" in body["detail"] or CJK.search(body["detail"])
    assert not IdempotencyRecord.objects.exists()  # nothing claimed: a fixed retry runs


def test_a_body_within_the_depth_limit_still_posts(api, rich, check_ledgers):  # noqa: F811
    response = post(api, SALES, basket(member={"phone": PHONE}))

    assert response.status_code == 201, response.content
    check_ledgers()


# --- size


def test_a_body_over_the_upload_limit_is_a_413_payload_too_large(api, chain, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    padding = "x" * 20_000

    response = raw_post(api, SALES, json.dumps({"receipt_no": "R1", "pad": padding}))

    body = assert_error(response, 413, "payload_too_large")
    assert "10000" in body["detail"]
    assert not IdempotencyRecord.objects.exists()


def test_the_default_limit_answers_413_too(api, chain):
    text = json.dumps({"pad": "x" * (2_621_440 + 1)})

    assert_error(raw_post(api, SALES, text), 413, "payload_too_large")


def test_the_same_key_works_once_the_body_fits(api, rich, settings, check_ledgers):  # noqa: F811
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    too_big = dict(basket(), notes="x" * 20_000)
    assert_error(post(api, SALES, too_big, key="k-big"), 413, "payload_too_large")

    response = post(api, SALES, basket(), key="k-big")

    assert response.status_code == 201
    check_ledgers()


# --- control characters in paths and fields


@pytest.mark.parametrize("receipt", ["%00", "A%00B", "A%01B", "%1B%5B31m", "A%7F"])
def test_control_characters_in_a_receipt_path_are_a_400_naming_it(api, chain, receipt):
    response = api.get(f"/api/v1/sales/{receipt}")

    body = assert_error(response, 400, "invalid")
    assert list(body["fields"]) == ["receipt_no"]


def test_a_refund_of_a_receipt_with_a_nul_is_a_400(api, chain):
    response = post(api, "/api/v1/sales/A%00B/refunds", {"refund_no": "F1"})

    body = assert_error(response, 400, "invalid")
    assert list(body["fields"]) == ["receipt_no"]
    assert not IdempotencyRecord.objects.exists()


def test_an_ordinary_unknown_receipt_is_still_a_404(api, chain):
    assert_error(api.get("/api/v1/sales/NO-SUCH"), 404, "sale_not_found")


@pytest.mark.parametrize("receipt_no", ["A\x00B", "A\x01B", "A\x1bB"])
def test_control_characters_in_a_receipt_number_are_refused_in_the_body(
    api,
    rich,  # noqa: F811
    receipt_no,
):
    response = post(api, SALES, basket(receipt_no))

    body = assert_error(response, 400, "invalid")
    assert "receipt_no" in body["fields"]
    assert not Sale.objects.exists()


def test_a_nul_in_a_lookup_parameter_is_a_400(api, chain):
    for params in ({"card_no": "12\x0034"}, {"member_no": "\x00"}, {"phone": "\x00"}):
        assert_error(api.get("/api/v1/members/lookup", params), 400, "invalid")


# --- 422 fields a cashier can read


def _sentences(body):
    messages = [m for ms in body["fields"].values() for m in ms]
    assert messages, body
    for message in messages:
        # A sentence in the request's language (zh-hans by default), not "120" or "5 < 9".
        assert CJK.search(message), message
    return messages


def test_insufficient_points_says_what_the_member_has_and_needs(api, rich):  # noqa: F811
    response = post(api, SALES, basket(redeem_points=1100))

    body = assert_error(response, 422, "insufficient_points")
    (message,) = _sentences(body)
    assert "1000" in message and "1100" in message


def test_insufficient_stored_value_says_what_the_member_has(api, rich):  # noqa: F811
    response = post(
        api,
        SALES,
        basket(
            stored_value_amount="120.00",
            redeem_points=0,
            lines=[{"sku": "A", "qty": "1", "amount": "150.00"}],
            total="150.00",
        ),
    )

    body = assert_error(response, 422, "insufficient_stored_value")
    (message,) = _sentences(body)
    assert "100.00" in message
    assert set(body["fields"]) == {"stored_value_amount"}  # the field the till sent


def test_a_refund_of_more_than_is_left_says_so_in_words(api, rich):  # noqa: F811
    assert post(api, SALES, basket()).status_code == 201
    refund = {"refund_no": "F1", "lines": [{"sku": "A1", "qty": "3", "amount": "90.00"}]}

    response = post(api, "/api/v1/sales/R0001/refunds", refund, key="refund-1")

    body = assert_error(response, 422, "refund_exceeds_sale")
    (message,) = _sentences(body)
    assert "A1" in message


def test_a_count_card_without_visits_left_says_how_many_are_left(api, chain):
    member = make_member(chain["SH001"], phone=PHONE)
    package = CountCardPackage.objects.create(
        code="WASH2", name="洗车2次卡", visits=2, price=Decimal("60.00"), valid_days=30
    )
    card = sell_count_card(member=member, package=package, source="admin", store=chain["SH001"])
    body = {"member": {"phone": PHONE}, "card_id": card.pk, "visits": 3}

    error = assert_error(
        post(api, "/api/v1/count-cards/visits", body), 422, "count_card_not_usable"
    )

    (message,) = _sentences(error)
    assert "2" in message and "3" in message


# --- numbers


def test_money_as_a_json_number_is_read_exactly(api, rich, check_ledgers):  # noqa: F811
    text = with_number(
        {
            "receipt_no": "N1",
            "member": {"phone": PHONE},
            "total": "@N@",
            "lines": [{"sku": "A", "qty": 1, "amount": "@N@"}],
        },
        "12.50",
    )

    response = raw_post(api, SALES, text)

    assert response.status_code == 201, response.content
    assert Sale.objects.get(receipt_no="N1").total == Decimal("12.50")
    assert response.json()["amount_due"] == "12.50"  # answers are strings either way
    check_ledgers()


@pytest.mark.parametrize(
    "amount",
    [
        "12.345",
        "1e309",
        "-1e309",
        # A binary float would round this to 12.5 and accept it without a word.
        "12.50000000000000001",
        "10000000.00",
        "true",
    ],
)
def test_money_numbers_outside_the_rules_are_a_400_naming_the_field(
    api,
    rich,  # noqa: F811
    amount,
):
    text = with_number(
        {
            "receipt_no": "N2",
            "member": {"phone": PHONE},
            "total": "12.50",
            "lines": [{"sku": "A", "qty": 1, "amount": "@N@"}],
        },
        amount,
    )

    body = assert_error(raw_post(api, SALES, text), 400, "invalid")

    assert "lines.0.amount" in body["fields"]
    assert not Sale.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_a_parse_error(api, rich, constant):  # noqa: F811
    text = with_number({"receipt_no": "N3", "member": {"phone": PHONE}, "total": "@N@"}, constant)

    assert_error(raw_post(api, SALES, text), 400, "parse_error")


@pytest.mark.parametrize(
    "url, body, field",
    [
        (SALES, basket(redeem_points=99999999999999999999), "redeem_points"),
        (
            "/api/v1/sales/quote",
            {"member": {"phone": PHONE}, "lines": basket()["lines"], "redeem_points": 2**31},
            "redeem_points",
        ),
        ("/api/v1/count-cards/visits", {"member": {"phone": PHONE}, "card_id": 2**63}, "card_id"),
        (
            "/api/v1/gifts/redemptions",
            {"member": {"phone": PHONE}, "gift": "MUG", "qty": 10**30},
            "qty",
        ),
    ],
)
def test_whole_numbers_past_their_column_are_a_400_naming_the_field(
    api,
    rich,  # noqa: F811
    url,
    body,
    field,
):
    error = assert_error(post(api, url, body), 400, "invalid")

    assert field in error["fields"]


def test_a_nul_in_a_text_field_is_named_as_such_in_chinese(api, chain):
    response = api.get("/api/v1/members/lookup", {"card_no": "1\x002"})

    body = assert_error(response, 400, "invalid")
    assert body["fields"] == {"card_no": ["不能包含空字符（NUL）。"]}
