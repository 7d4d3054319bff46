"""Many tills, one member, at the same moment: PostgreSQL row locks keep the books right."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.models import Source
from loyalty.models import PointsAccount, RedemptionRule
from loyalty.services import grant_opening_points
from sales.models import Sale
from stores.services import create_terminal

from .conftest import make_member, post, till_client

PHONE = "13812345678"
pytestmark = [pytest.mark.django_db(transaction=True)]


def run_tills(keys, work):
    barrier = threading.Barrier(len(keys))
    results = []

    def one(n, key):
        try:
            client = till_client(key)
            barrier.wait()
            results.extend(work(client, n))
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(n, key)) for n, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_it_lets_many_tills_redeem_points_from_one_member_at_once(chain, check_ledgers):
    # Given a member with 1000 points, 100 points = 1 yuan, and 10 tills
    RedemptionRule.objects.create(name="抵现", points_per_yuan=100)
    member = make_member(chain["SH001"], phone=PHONE)
    grant_opening_points(member=member, points=1000, source=Source.ADMIN)
    keys = [create_terminal(store_code="SH001", code=f"T{i}")[1] for i in range(10)]

    def checkout(client, n):
        answers = []
        for attempt in range(2):
            body = {
                "receipt_no": f"T{n}-{attempt}",
                "member": {"phone": PHONE},
                "lines": [{"sku": "A", "qty": "1", "amount": "10.00"}],
                "total": "10.00",
                "redeem_points": 100,
            }
            answers.append(post(client, "/api/v1/sales", body, key=f"k{n}-{attempt}"))
        return answers

    # When each till checks out twice, redeeming 100 points each time (20 x 100 > 1000)
    answers = run_tills(keys, checkout)

    # Then exactly ten redemptions go through and the others are refused, never overdrawn
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 10 + [422] * 10
    assert {a.json()["code"] for a in answers if a.status_code == 422} == {"insufficient_points"}
    assert PointsAccount.objects.get(member=member).balance == 0
    assert Sale.objects.count() == 10
    check_ledgers()


def test_it_runs_two_identical_checkouts_arriving_together_once(chain, check_ledgers):
    member = make_member(chain["SH001"], phone=PHONE)
    grant_opening_points(member=member, points=500, source=Source.ADMIN)
    _terminal, key = create_terminal(store_code="SH001", code="T1")
    body = {
        "receipt_no": "R1",
        "member": {"phone": PHONE},
        "lines": [{"sku": "A", "qty": "1", "amount": "10.00"}],
        "total": "10.00",
    }

    answers = run_tills([key] * 4, lambda client, n: [post(client, "/api/v1/sales", body, "k")])

    assert [a.status_code for a in answers] == [201] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    assert sum(a.get("Idempotent-Replayed") == "true" for a in answers) == 3
    assert Sale.objects.count() == 1
    assert Decimal(answers[0].json()["stored_value"]) == Decimal("0.00")
    check_ledgers()
