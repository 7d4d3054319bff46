import threading

import pytest
from django.db import connection

from core.models import Source
from loyalty.models import Gift, GiftRedemption, GiftStock, PointsAccount
from loyalty.services import grant_opening_points
from stores.services import create_terminal

from .conftest import make_member, post, till_client

REDEEM = "/api/v1/gifts/redemptions"
PHONE = "13812345678"


@pytest.fixture
def mug(chain):
    gift = Gift.objects.create(code="MUG", name="马克杯", points=100)
    GiftStock.objects.create(gift=gift, store=chain["SH001"], quantity=5)
    GiftStock.objects.create(gift=gift, store=chain["BJ001"], quantity=1)
    return gift


@pytest.fixture
def zhang(chain):
    member = make_member(chain["SH001"], name="张三", phone=PHONE)
    grant_opening_points(member=member, points=1000, source=Source.ADMIN)
    return member


def code_of(response):
    return response.json()["code"]


def test_it_lists_the_catalogue_with_this_stores_stock(api, mug):
    Gift.objects.create(code="PEN", name="签字笔", points=20)

    response = api.get("/api/v1/gifts")

    assert response.status_code == 200
    assert response.json() == [
        {"code": "MUG", "name": "马克杯", "points": 100, "stock": 5},
        {"code": "PEN", "name": "签字笔", "points": 20, "stock": 0},
    ]


def test_it_redeems_a_gift_for_points(api, zhang, mug, check_ledgers):
    response = post(api, REDEEM, {"member": {"phone": PHONE}, "gift": "MUG", "qty": 2})

    assert response.status_code == 201
    assert response.json() == {"gift": "MUG", "qty": 2, "points_spent": 200, "points": 800}
    assert GiftStock.objects.get(gift=mug, store__code="SH001").quantity == 3
    check_ledgers()


def test_it_replays_a_redemption_and_refuses_its_key_for_another(api, zhang, mug, check_ledgers):
    body = {"member": {"phone": PHONE}, "gift": "MUG", "qty": 1}
    first = post(api, REDEEM, body, key="g1")

    again = post(api, REDEEM, body, key="g1")
    other = post(api, REDEEM, {**body, "qty": 2}, key="g1")

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and code_of(other) == "idempotency_key_reused"
    assert GiftRedemption.objects.count() == 1
    check_ledgers()


def test_it_refuses_more_than_this_store_holds(api, zhang, mug, check_ledgers):
    response = post(api, REDEEM, {"member": {"phone": PHONE}, "gift": "MUG", "qty": 6})

    assert response.status_code == 422 and code_of(response) == "out_of_stock"
    assert PointsAccount.objects.get(member=zhang).balance == 1000
    check_ledgers()


def test_it_refuses_a_gift_beyond_the_members_points(api, zhang, mug, check_ledgers):
    GiftStock.objects.filter(gift=mug).update(quantity=50)

    response = post(api, REDEEM, {"member": {"phone": PHONE}, "gift": "MUG", "qty": 11})

    assert response.status_code == 422 and code_of(response) == "insufficient_points"
    assert GiftStock.objects.get(gift=mug, store__code="SH001").quantity == 50  # rolled back
    check_ledgers()


def test_it_refuses_an_unknown_gift_with_404(api, zhang):
    response = post(api, REDEEM, {"member": {"phone": PHONE}, "gift": "NOPE", "qty": 1})

    assert response.status_code == 404 and code_of(response) == "gift_not_found"


@pytest.mark.django_db(transaction=True)
def test_it_lets_many_tills_redeem_from_one_member_without_overspending(chain, check_ledgers):
    # Given a member with 1000 points and 40 mugs at 100 points each, and 8 tills
    gift = Gift.objects.create(code="MUG", name="马克杯", points=100)
    GiftStock.objects.create(gift=gift, store=chain["SH001"], quantity=40)
    member = make_member(chain["SH001"], phone=PHONE)
    grant_opening_points(member=member, points=1000, source=Source.ADMIN)
    keys = [create_terminal(store_code="SH001", code=f"T{i}")[1] for i in range(8)]
    barrier = threading.Barrier(len(keys))
    statuses = []

    def till(key, n):
        try:
            client = till_client(key)
            barrier.wait()
            for attempt in range(3):
                body = {"member": {"phone": PHONE}, "gift": "MUG", "qty": 1}
                statuses.append(post(client, REDEEM, body, key=f"{n}-{attempt}").status_code)
        finally:
            connection.close()

    # When all of them redeem at once, 24 requests for 10 mugs' worth of points
    threads = [threading.Thread(target=till, args=(key, n)) for n, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly 10 succeed, the rest are refused cleanly, and nothing is overspent
    assert statuses.count(201) == 10
    assert statuses.count(422) == 14
    assert PointsAccount.objects.get(member=member).balance == 0
    assert GiftStock.objects.get(gift=gift).quantity == 30
    check_ledgers()
