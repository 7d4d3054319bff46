import logging

import pytest

from .conftest import post

SALES = "/api/v1/sales"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}
    assert body["code"] == code
    return body


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/nothing", "/api/v1/sales/x/y"])
def test_it_answers_an_unknown_path_with_a_404_in_the_error_shape(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_it_answers_a_wrong_method_with_405(api):
    assert_error(api.put("/api/v1/ping", {}, format="json"), 405, "method_not_allowed")


def test_it_answers_malformed_json_with_400(api):
    response = api.post(
        SALES, "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_error(response, 400, "parse_error")


def test_it_answers_a_form_body_with_415(api):
    response = api.post(SALES, {"a": "b"}, HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 415, "unsupported_media_type")


def test_it_names_each_invalid_field_of_a_nested_body(api):
    body = {
        "receipt_no": "R1",
        "member": {"phone": "123"},
        "lines": [{"sku": "A", "qty": "1", "amount": "-1.00"}],
        "total": "abc",
    }

    error = assert_error(post(api, SALES, body), 400, "invalid")

    assert set(error["fields"]) == {"member.phone", "lines.0.amount", "total"}
    assert all(isinstance(m, list) and m for m in error["fields"].values())


def test_it_refuses_a_total_that_is_not_the_sum_of_the_lines(api):
    body = {
        "receipt_no": "R1",
        "member": {"phone": "13812345678"},
        "lines": [{"sku": "A", "qty": "1", "amount": "10.00"}],
        "total": "10.01",
    }

    error = assert_error(post(api, SALES, body), 400, "invalid")

    assert "total" in error["fields"]


def test_it_refuses_a_member_named_twice_or_not_at_all(api):
    body = {"member": {}, "lines": [{"sku": "A", "qty": "1", "amount": "1.00"}]}

    error = assert_error(post(api, "/api/v1/sales/quote", body), 400, "invalid")

    assert "member.non_field_errors" in error["fields"]


@pytest.mark.urls("tests.api.urls_for_tests")
def test_it_answers_an_unexpected_error_with_500_without_internals(api, caplog):
    with caplog.at_level(logging.ERROR, logger="stores.api"):
        response = post(api, "/api/v1/test/regions", {"code": "boom"}, HTTP_X_REQUEST_ID="req-42")

    body = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "req-42" in body["detail"] and response["X-Request-ID"] == "req-42"
    assert any("req-42" in r.getMessage() for r in caplog.records)


@pytest.mark.urls("tests.api.urls_for_tests")
def test_it_answers_a_domain_error_with_its_code_status_and_fields(api):
    from stores.models import Region

    Region.objects.create(code="EAST", name="东区")

    body = assert_error(post(api, "/api/v1/test/regions", {"code": "EAST"}), 409, "region_exists")

    assert body["fields"] == {"code": ["taken"]}
