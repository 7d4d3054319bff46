from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from stores.models import Terminal
from stores.services import revoke_terminal_keys

from .conftest import till_client

PING = "/api/v1/ping"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}
    assert body["code"] == code
    return body


def test_it_answers_a_till_with_a_valid_key(api, till):
    response = api.get(PING)

    assert response.status_code == 200
    assert response.json()["store"] == "SH001"
    assert response.json()["terminal"] == "POS01"


def test_it_refuses_a_request_without_a_key_with_401(till):
    response = APIClient().get(PING)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_it_refuses_an_unknown_key_with_401(till):
    assert_error(till_client("nosuch.key").get(PING), 401, "authentication_failed")


def test_it_refuses_a_key_with_a_known_prefix_and_a_wrong_secret(till):
    prefix = till.key.split(".")[0]
    assert_error(till_client(f"{prefix}.wrong").get(PING), 401, "authentication_failed")


def test_it_refuses_a_revoked_key_with_401(api, till):
    revoke_terminal_keys(terminal=till.terminal)

    assert_error(api.get(PING), 401, "authentication_failed")


def test_it_refuses_an_inactive_till_with_401(api, till):
    Terminal.objects.filter(pk=till.terminal.pk).update(is_active=False)

    assert_error(api.get(PING), 401, "authentication_failed")


def test_it_refuses_another_scheme_with_401(till):
    client = till_client(till.key)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {till.key}")

    assert_error(client.get(PING), 401, "not_authenticated")


def test_it_records_last_seen_at_most_once_a_minute(api, till, django_assert_num_queries):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get(PING)
        first = Terminal.objects.get(pk=till.terminal.pk).last_seen_at
        assert first == start

    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        with django_assert_num_queries(1):  # the key lookup only: no write
            api.get(PING)
        assert Terminal.objects.get(pk=till.terminal.pk).last_seen_at == first

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get(PING)
        assert Terminal.objects.get(pk=till.terminal.pk).last_seen_at == start + timedelta(
            seconds=61
        )


def test_it_throttles_one_till_with_a_clear_429(api, till, other_till, settings):
    settings.TILL_API_THROTTLE_RATE = "3/min"
    for _ in range(3):
        assert api.get(PING).status_code == 200

    response = api.get(PING)

    body = assert_error(response, 429, "throttled")
    assert body["detail"]
    assert int(response["Retry-After"]) > 0
    # The budget is per till: the till next door is not slowed down.
    assert till_client(other_till.key).get(PING).status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_it_serves_the_schema_and_docs_without_a_key(client, path):
    assert client.get(path).status_code == 200


def test_it_echoes_a_sane_request_id_and_makes_one_otherwise(api):
    given = api.get(PING, HTTP_X_REQUEST_ID="till-7-000123")
    made = api.get(PING, HTTP_X_REQUEST_ID="bad id with spaces")

    assert given["X-Request-ID"] == "till-7-000123"
    assert made["X-Request-ID"] != "bad id with spaces" and len(made["X-Request-ID"]) == 32
