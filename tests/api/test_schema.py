"""The OpenAPI schema at /api/schema/ must agree with API.md, the page POS vendors code from."""

import pytest

# API.md, call by call: (method, path, request body fields, success status, answer fields).
API_MD = [
    (
        "get",
        "/api/v1/members/lookup",
        None,
        "200",
        {
            "member_no",
            "name",
            "phone",
            "tier",
            "points",
            "points_expiring",
            "stored_value",
            "coupons",
            "count_cards",
        },
    ),
    (
        "post",
        "/api/v1/members",
        {"phone", "name", "gender", "birthday", "card_no", "referrer_phone"},
        "201",
        {"member_no", "phone", "tier", "points", "stored_value"},
    ),
    (
        "post",
        "/api/v1/sales/quote",
        {"member", "lines", "redeem_points"},
        "200",
        {
            "points_to_earn",
            "max_redeem_points",
            "min_redeem_points",
            "redeem_step",
            "max_offset_amount",
            "offset_amount",
            "coupon_discount",
            "amount_due",
            "coupons",
        },
    ),
    (
        "post",
        "/api/v1/sales",
        {
            "receipt_no",
            "member",
            "lines",
            "total",
            "redeem_points",
            "coupon_codes",
            "stored_value_amount",
        },
        "201",
        {
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
        },
    ),
    (
        "get",
        "/api/v1/sales/{receipt_no}",
        None,
        "200",
        {"receipt_no", "points_earned", "points", "stored_value", "tier_changed", "refunds"},
    ),
    (
        "post",
        "/api/v1/sales/{receipt_no}/refunds",
        {"refund_no", "lines"},
        "201",
        {
            "refund_no",
            "points_reversed",
            "points_returned",
            "stored_value_returned",
            "cash_returned",
            "coupons_returned",
            "points",
            "stored_value",
        },
    ),
    (
        "post",
        "/api/v1/wallet/recharges",
        {"recharge_no", "member", "amount", "plan"},
        "201",
        {"recharge_no", "amount", "bonus", "stored_value"},
    ),
    (
        "post",
        "/api/v1/count-cards/visits",
        {"visit_no", "member", "card_id", "visits"},
        "201",
        {"visit_no", "card_id", "name", "visits_used", "visits_left", "expires_at"},
    ),
    (
        "post",
        "/api/v1/gifts/redemptions",
        {"member", "gift", "qty"},
        "201",
        {"gift", "qty", "points_spent", "points"},
    ),
    ("get", "/api/v1/gifts", None, "200", None),
]
LINE_FIELDS = {"sku", "name", "category", "qty", "amount"}
# POSTs that change nothing take no Idempotency-Key (API.md).
READ_ONLY_POSTS = {"/api/v1/sales/quote", "/api/v1/coupons/evaluate"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if node.get("type") == "array":
        return resolve(schema, node["items"])
    return node


@pytest.mark.parametrize(("method", "path", "request_fields", "status", "answer"), API_MD)
def test_it_documents_every_call_of_api_md_with_its_fields(
    schema, method, path, request_fields, status, answer
):
    operation = schema["paths"][path][method]

    assert status in operation["responses"]
    if request_fields is not None:
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert set(resolve(schema, body)["properties"]) >= request_fields
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) is (path not in READ_ONLY_POSTS)
    if answer is not None:
        ok = operation["responses"][status]["content"]["application/json"]["schema"]
        assert set(resolve(schema, ok)["properties"]) >= answer
    assert operation["security"] == [{"ApiKeyAuth": []}]


def test_it_documents_the_line_fields(schema):
    body = schema["paths"]["/api/v1/sales"]["post"]["requestBody"]["content"]
    sale = resolve(schema, body["application/json"]["schema"])

    assert set(resolve(schema, sale["properties"]["lines"])["properties"]) == LINE_FIELDS


def test_it_documents_the_error_codes_with_examples(schema):
    sale = schema["paths"]["/api/v1/sales"]["post"]["responses"]
    codes = {
        example["value"].get("code")
        for status in sale.values()
        for example in status.get("content", {})
        .get("application/json", {})
        .get("examples", {})
        .values()
    }

    assert {
        "invalid",
        "member_not_found",
        "member_inactive",
        "duplicate_receipt",
        "insufficient_points",
        "redemption_not_allowed",
        "insufficient_stored_value",
        "idempotency_key_reused",
        "idempotency_key_missing",
        "not_authenticated",
        "throttled",
    } <= codes


def test_it_documents_the_api_key_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]

    assert scheme["type"] == "apiKey" and scheme["name"] == "Authorization"
    assert "Api-Key" in scheme["description"]


def test_it_generates_the_schema_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
