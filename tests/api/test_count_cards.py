"""POST /api/v1/count-cards/visits: a till uses a visit of a member's count card (次卡核销)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from countcards.models import CountCardEntry, CountCardPackage
from countcards.services import sell_count_card
from members.services import open_member

from .conftest import post

VISITS = "/api/v1/count-cards/visits"


@pytest.fixture
def package(db):
    return CountCardPackage.objects.create(
        code="WASH10", name="洗车10次卡", visits=10, price=Decimal("300.00"), valid_days=30
    )


@pytest.fixture
def zhang(chain):
    return open_member(phone="13812345678", name="张三", home_store=chain["SH001"], source="admin")


@pytest.fixture
def card(zhang, package, chain):
    return sell_count_card(member=zhang, package=package, source="admin", store=chain["SH001"])


def _use(api, card, key="visit-1", visits=1, phone="13812345678"):
    body = {"member": {"phone": phone}, "card_id": card.pk, "visits": visits}
    return post(api, VISITS, body, key=key)


def test_it_uses_a_visit_and_answers_what_is_left(api, card, check_ledgers):
    response = _use(api, card)

    assert response.status_code == 201, response.json()
    assert response.json()["visits_used"] == 1 and response.json()["visits_left"] == 9
    card.refresh_from_db()
    assert card.visits_left == 9
    entry = CountCardEntry.objects.get(card=card, kind=CountCardEntry.Kind.USE)
    assert entry.source == "till" and entry.store.code == "SH001" and entry.terminal is not None
    check_ledgers()


def test_it_lists_the_card_in_the_member_lookup(api, card):
    response = api.get("/api/v1/members/lookup", {"phone": "13812345678"})

    assert response.json()["count_cards"] == [
        {
            "id": card.pk,
            "package": "WASH10",
            "name": "洗车10次卡",
            "visits_left": 10,
            "expires_at": response.json()["count_cards"][0]["expires_at"],
        }
    ]


def test_a_replayed_visit_is_used_once(api, card):
    first = _use(api, card)
    again = _use(api, card)

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    card.refresh_from_db()
    assert card.visits_left == 9


def test_the_same_key_for_another_visit_is_refused(api, card):
    _use(api, card)

    response = _use(api, card, visits=2)

    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_reused"


def test_it_will_not_use_another_members_card(api, card, chain):
    open_member(phone="13900000001", name="李四", home_store=chain["SH001"], source="admin")

    response = _use(api, card, phone="13900000001")

    assert response.status_code == 404 and response.json()["code"] == "count_card_not_found"
    card.refresh_from_db()
    assert card.visits_left == 10


def test_it_refuses_more_visits_than_are_left(api, card, check_ledgers):
    response = _use(api, card, visits=11)

    assert response.status_code == 422 and response.json()["code"] == "count_card_not_usable"
    card.refresh_from_db()
    assert card.visits_left == 10
    check_ledgers()


def test_it_refuses_an_expired_card(api, card):
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = _use(api, card)

    assert response.status_code == 422 and response.json()["code"] == "count_card_not_usable"


def test_it_refuses_zero_visits_as_invalid(api, card):
    response = _use(api, card, visits=0)

    assert response.status_code == 400 and "visits" in response.json()["fields"]
