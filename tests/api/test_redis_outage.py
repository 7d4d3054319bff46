"""Redis stopped under a running till API and admin: the throttle and the cache fail open,
logged once a minute; sessions are database rows. A real redis-server, stopped mid-test."""

import logging

import pytest
from django.core.cache import caches
from django.urls import reverse

from core.caching import cache_config
from loyalty.models import EarningRule
from sales.models import Sale
from tests.services import RedisServer

from .conftest import make_member, post, till_client

PING = "/api/v1/ping"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """(The package's fixture clears the default cache, which here is a dead one.)"""
    yield


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings, redis_server):
    """The settings' own cache configuration for CACHE_URL=redis://... on that server."""
    settings.CACHES = {"default": cache_config({"LOCATION": redis_server.url(1)})}
    yield caches["default"]
    caches["default"].close()


@pytest.fixture
def fresh_log_filters():
    """The once-a-minute filters remember what they let through: start each test afresh."""
    for name in ("django_redis.cache", "stores.api.throttling"):
        for log_filter in logging.getLogger(name).filters:
            log_filter._last.clear()
            log_filter._held.clear()


def sale(receipt_no, phone):
    return {
        "receipt_no": receipt_no,
        "member": {"phone": phone},
        "lines": [{"sku": "A1", "name": "面包", "category": "bakery", "qty": "1",
                   "amount": "10.00"}],
        "total": "10.00",
    }  # fmt: skip


def throttle_keys(server):
    import redis

    return redis.Redis.from_url(server.url(1)).keys("*throttle_terminal*")


def test_it_keeps_the_till_api_and_the_admin_up_while_redis_is_down(
    redis_cache, redis_server, settings, till, chain, head_office, client, caplog,
    fresh_log_filters, check_ledgers,
):  # fmt: skip
    settings.TILL_API_THROTTLE_RATE = "3/min"
    EarningRule.objects.create(name="基础积分", kind="per_amount", points=1, per_amount=1)
    member = make_member(chain["SH001"], phone="13812345678")
    api = till_client(till.key)
    assert [api.get(PING).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert throttle_keys(redis_server)  # the counts were in Redis

    redis_server.stop()
    with caplog.at_level(logging.WARNING):
        pings = [api.get(PING).status_code for _ in range(5)]
        checkout = post(api, "/api/v1/sales", sale("R1", member.phone), key="k-1")
        replay = post(api, "/api/v1/sales", sale("R1", member.phone), key="k-1")
        logged_in = client.post(
            reverse("admin:login"), {"username": "head_office", "password": "pass-word-123"}
        )
        pages = [client.get(reverse(name)).status_code
                 for name in ("admin:index", "admin:members_member_changelist",
                              "admin:sales_sale_changelist")]  # fmt: skip

    assert pings == [200] * 5  # over the limit, but the counts are gone: fail open
    assert checkout.status_code == 201, checkout.content
    assert replay.status_code == 201 and replay.json() == checkout.json()
    assert Sale.objects.filter(receipt_no="R1").count() == 1
    assert logged_in.status_code == 302, "the admin login works without Redis"
    assert pages == [200, 200, 200]
    ignored = [r for r in caplog.records if r.name == "django_redis.cache"]
    assert len(ignored) == 1, "an outage is logged once a minute, not once a request"
    check_ledgers()

    redis_server.start()
    assert [api.get(PING).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert throttle_keys(redis_server)  # counting again once Redis is back


def test_the_throttle_fails_open_on_a_cache_that_raises(settings, till, caplog,
                                                        fresh_log_filters):
    """Django's own Redis cache raises when Redis is away (no IGNORE_EXCEPTIONS): the
    throttle itself lets the till through and logs it once."""
    dead = RedisServer()  # never started: nothing listens on its port
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": dead.url(1)}}  # fmt: skip
    api = till_client(till.key)

    with caplog.at_level(logging.WARNING):
        statuses = [api.get(PING).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    warnings = [r for r in caplog.records if r.name == "stores.api.throttling"]
    assert len(warnings) == 1
