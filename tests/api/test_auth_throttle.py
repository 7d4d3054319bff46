"""Failed key checks are throttled per key prefix and per client address (429 with
Retry-After, the API's error shape); a till whose key is right is never refused; the counts
are PostgreSQL rows, so they hold while Redis is down."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from core.caching import cache_config
from tests.services import RedisServer

from .conftest import till_client
from .test_auth import assert_error

PING = "/api/v1/ping"


def ping(key, address="10.9.9.9", **headers):
    return till_client(key).get(PING, REMOTE_ADDR=address, **headers)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.TILL_AUTH_FAILURES_PER_KEY = 10
    settings.TILL_AUTH_FAILURES_PER_ADDRESS = 30
    settings.TILL_AUTH_FAILURE_WINDOW = 600


def test_wrong_secrets_for_a_real_prefix_get_429_after_the_limit(till):
    prefix = till.key.split(".")[0]

    answers = [ping(f"{prefix}.wrong{n}", address=f"10.0.1.{n}") for n in range(60)]

    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert {a.status_code for a in answers[10:]} == {429}
    body = assert_error(answers[-1], 429, "throttled")
    assert body["detail"]
    assert 0 < int(answers[-1]["Retry-After"]) <= 600


def test_the_till_with_the_right_key_is_not_touched_by_guesses_at_its_prefix(till):
    prefix = till.key.split(".")[0]
    for n in range(20):
        ping(f"{prefix}.wrong{n}", address="10.9.9.9")

    assert ping(till.key, address="10.9.9.9").status_code == 200  # the same address, even
    assert ping(f"{prefix}.wrong", address="10.9.9.10").status_code == 429  # the prefix is


def test_unknown_keys_from_one_address_get_429_and_a_right_key_there_still_works(till):
    answers = [ping(f"nosuch{n:02d}.secret", address="10.7.7.7").status_code for n in range(35)]

    assert answers[:30] == [401] * 30 and set(answers[30:]) == {429}
    assert ping(till.key, address="10.7.7.7").status_code == 200
    assert ping("other000.secret", address="10.7.7.8").status_code == 401  # another address


def test_malformed_headers_count_against_the_address(till):
    client = APIClient()
    answers = [
        client.get(PING, REMOTE_ADDR="10.6.6.6", HTTP_AUTHORIZATION="Api-Key a b").status_code
        for _ in range(31)
    ]

    assert answers[:30] == [401] * 30 and answers[30] == 429


def test_the_window_ends(till):
    prefix = till.key.split(".")[0]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(11):
            ping(f"{prefix}.wrong{n}")
        assert ping(f"{prefix}.wrong").status_code == 429
    with time_machine.travel(start + timedelta(seconds=601), tick=False):
        assert ping(f"{prefix}.wrong").status_code == 401


def test_the_counts_hold_while_redis_is_down(till, settings):
    """The attacker gets no more tries when the cache is gone (CACHE_URL on a dead Redis)."""
    settings.CACHES = {"default": cache_config({"LOCATION": RedisServer().url(1)})}
    prefix = till.key.split(".")[0]

    answers = [ping(f"{prefix}.wrong{n}").status_code for n in range(12)]

    assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]
    assert ping(till.key).status_code == 200


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """(The package's fixture clears the default cache, which one test points at a dead
    Redis; these tests count in the database.)"""
    yield
