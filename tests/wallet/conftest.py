import itertools
from decimal import Decimal

import pytest

from countcards.models import CountCardPackage
from loyalty.ledger import open_account
from members.models import Member
from wallet.ledger import open_wallet
from wallet.models import RechargePlan

_numbers = itertools.count(1)


def make_member(store, **fields):
    """A member with empty points account and wallet, made directly (open_member is elsewhere)."""
    n = next(_numbers)
    member = Member.objects.create(
        member_no=fields.pop("member_no", f"W{n:07d}"),
        phone=fields.pop("phone", f"139{n:08d}"),
        home_store=store,
        **fields,
    )
    open_account(member)
    open_wallet(member)
    return member


@pytest.fixture
def member_factory(chain):
    def make(store=None, **fields):
        return make_member(store or chain["SH001"], **fields)

    return make


@pytest.fixture
def member(member_factory):
    return member_factory(name="张三")


@pytest.fixture
def plan_500(chain):
    return RechargePlan.objects.create(
        code="R500", name="充500送50", pay_amount=Decimal("500"), bonus_amount=Decimal("50")
    )


@pytest.fixture
def package_10(db):
    return CountCardPackage.objects.create(
        code="WASH10", name="洗车10次卡", visits=10, price=Decimal("300.00"), valid_days=365
    )


def money(value):
    return Decimal(value).quantize(Decimal("0.01"))
