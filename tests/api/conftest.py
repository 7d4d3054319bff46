import itertools
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from loyalty.ledger import open_account
from members.models import Member
from stores.services import create_terminal
from wallet.ledger import open_wallet

_numbers = itertools.count(1)


def till_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def post(client, url, body, key="key-1", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, body, format="json", **headers)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def till(chain):
    terminal, key = create_terminal(store_code="SH001", code="POS01")
    return SimpleNamespace(terminal=terminal, key=key, store=chain["SH001"])


@pytest.fixture
def other_till(chain):
    terminal, key = create_terminal(store_code="BJ001", code="POS01")
    return SimpleNamespace(terminal=terminal, key=key, store=chain["BJ001"])


@pytest.fixture
def api(till):
    return till_client(till.key)


def make_member(store, **fields):
    """A member with an empty points account and wallet, for scenarios that start from one."""
    n = next(_numbers)
    member = Member.objects.create(
        member_no=fields.pop("member_no", f"A{n:07d}"),
        phone=fields.pop("phone", f"137{n:08d}"),
        home_store=store,
        **fields,
    )
    open_account(member)
    open_wallet(member)
    return member


@pytest.fixture
def member(chain):
    return make_member(chain["SH001"], name="张三", phone="13812345678")
