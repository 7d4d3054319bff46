"""Schema-driven fuzzing: schemathesis generates requests from /api/schema/ and the API must
never answer 500, and must answer in the error shape whenever it refuses.

Bounded so it runs in every suite: SCHEMATHESIS_MAX_EXAMPLES per operation (default 25).
Deselect with `-m "not fuzz"`.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings

from core.models import Source
from loyalty.models import Gift, GiftStock
from loyalty.services import grant_opening_points

from .conftest import make_member

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is a test dependency: pip install schemathesis"
)
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
pytestmark = pytest.mark.fuzz

OPERATIONS = [
    ("GET", "/api/v1/ping"),
    ("GET", "/api/v1/members/lookup"),
    ("POST", "/api/v1/members"),
    ("POST", "/api/v1/sales/quote"),
    ("POST", "/api/v1/sales"),
    ("GET", "/api/v1/sales/{receipt_no}"),
    ("POST", "/api/v1/sales/{receipt_no}/refunds"),
    ("POST", "/api/v1/wallet/recharges"),
    ("GET", "/api/v1/wallet/plans"),
    ("GET", "/api/v1/gifts"),
    ("POST", "/api/v1/gifts/redemptions"),
    ("POST", "/api/v1/count-cards/visits"),
    ("POST", "/api/v1/coupons/evaluate"),
    ("GET", "/api/v1/coupons/exchangeable"),
    ("POST", "/api/v1/coupons/exchanges"),
]


@pytest.fixture
def api_schema(db):
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # As Django's test client does: keep the test's connection (and its transaction) open
    # across the requests the WSGI app serves.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(chain, till):
    member = make_member(chain["SH001"], phone="13812345678")
    grant_opening_points(member=member, points=500, source=Source.ADMIN)
    gift = Gift.objects.create(code="MUG", name="马克杯", points=100)
    GiftStock.objects.create(gift=gift, store=chain["SH001"], quantity=3)
    return till


def test_it_covers_every_operation_of_the_schema(api_schema):
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }

    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_it_never_answers_500_to_generated_requests(api_schema, world, method, path):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Api-Key {world.key}"}
    statuses = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        assert response.status_code < 500, case.as_curl_command()
        if response.status_code >= 400:
            assert set(response.json()) == {"code", "detail", "fields"}, case.as_curl_command()

    check()
    assert len(statuses) >= min(MAX_EXAMPLES, 5)  # it really called the API
