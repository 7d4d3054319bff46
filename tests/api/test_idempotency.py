import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from stores.models import IdempotencyRecord, Region
from stores.services import create_terminal
from stores.tasks import purge_idempotency_keys

from .conftest import post, till_client

URL = "/api/v1/test/regions"
pytestmark = pytest.mark.urls("tests.api.urls_for_tests")


def test_it_replays_the_first_answer_for_the_same_key_and_body(api):
    first = post(api, URL, {"code": "EAST"}, key="k1")

    again = post(api, URL, {"code": "EAST"}, key="k1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Region.objects.filter(code="EAST").count() == 1


def test_it_ignores_key_order_in_the_body_when_comparing(api):
    post(api, URL, {"code": "EAST", "sleep": 0}, key="k1")

    again = post(api, URL, {"sleep": 0, "code": "EAST"}, key="k1")

    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_it_refuses_the_same_key_with_another_body_with_409(api):
    post(api, URL, {"code": "EAST"}, key="k1")

    response = post(api, URL, {"code": "WEST"}, key="k1")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Region.objects.filter(code="WEST").exists()


def test_it_refuses_a_post_without_a_key_with_400(api):
    response = post(api, URL, {"code": "EAST"}, key=None)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert not Region.objects.exists()


def test_it_takes_a_key_of_64_characters_and_refuses_65(api):
    assert post(api, URL, {"code": "EAST"}, key="k" * 64).status_code == 201

    response = post(api, URL, {"code": "WEST"}, key="k" * 65)

    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_it_stores_a_business_refusal_and_replays_it(api):
    Region.objects.create(code="EAST", name="东区")
    refused = post(api, URL, {"code": "EAST"}, key="k1")
    Region.objects.all().delete()

    again = post(api, URL, {"code": "EAST"}, key="k1")

    assert refused.status_code == again.status_code == 409
    assert again.json() == refused.json()
    assert again["Idempotent-Replayed"] == "true"
    assert not Region.objects.exists()


def test_it_forgets_a_key_whose_request_crashed_so_the_retry_runs(api):
    crashed = post(api, URL, {"code": "boom"}, key="k1")

    assert crashed.status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Region.objects.exists()  # the write before the crash was rolled back with it


def test_it_keeps_keys_per_till(api, other_till):
    post(api, URL, {"code": "EAST"}, key="k1")

    response = post(till_client(other_till.key), URL, {"code": "WEST"}, key="k1")

    assert response.status_code == 201 and "Idempotent-Replayed" not in response


@pytest.mark.django_db(transaction=True)
def test_it_runs_two_identical_requests_arriving_together_once(chain):
    _terminal, key = create_terminal(store_code="SH001", code="POS07")
    barrier = threading.Barrier(2)
    responses = []

    def call():
        try:
            barrier.wait()
            responses.append(post(till_client(key), URL, {"code": "EAST", "sleep": 0.5}, "k1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert Region.objects.filter(code="EAST").count() == 1


def test_it_purges_keys_older_than_the_retention(api, till, settings):
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 30
    post(api, URL, {"code": "OLD"}, key="old")
    post(api, URL, {"code": "NEW"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(days=31)
    )
    IdempotencyRecord.objects.filter(key="new").update(
        created_at=timezone.now() - timedelta(days=29)
    )

    call_command("purge_idempotency_keys", verbosity=0)

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_it_purges_from_the_task_too(api):
    post(api, URL, {"code": "OLD"}, key="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=400))

    assert purge_idempotency_keys.apply().get() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_view_that_writes_and_then_refuses_leaves_nothing_written(api):
    refused = post(api, "/api/v1/test/half", {"code": "HALF"}, key="k1")
    again = post(api, "/api/v1/test/half", {"code": "HALF"}, key="k1")

    assert refused.status_code == 409 and refused.json()["code"] == "region_exists"
    assert again.json() == refused.json() and again["Idempotent-Replayed"] == "true"
    assert not Region.objects.filter(code="HALF").exists()


def test_a_collision_outside_any_savepoint_is_retried_not_a_500(api):
    from tests.api.urls_for_tests import RawCollisionView

    RawCollisionView.tries = 0
    Region.objects.create(code="TAKEN", name="已有")

    response = post(api, "/api/v1/test/collision", {"code": "TAKEN"}, key="k1")

    assert response.status_code == 409 and response.json()["code"] == "region_exists"
    assert RawCollisionView.tries == 2
    assert IdempotencyRecord.objects.get(key="k1").status == 409
