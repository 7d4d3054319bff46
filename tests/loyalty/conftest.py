"""Fixtures for the points engine: members, tiers and a chain's usual rules."""

import itertools
from datetime import date
from decimal import Decimal

import pytest

from loyalty.ledger import open_account
from loyalty.models import EarningRule, ExpiryPolicy, RedemptionRule
from members.models import Member, Tier

_numbers = itertools.count(1)


@pytest.fixture
def make_member(chain):
    def make(tier=None, store=None, **fields):
        n = next(_numbers)
        member = Member.objects.create(
            member_no=f"M{n:07d}",
            phone=f"139{n:08d}",
            name=f"会员{n}",
            home_store=store or chain["SH001"],
            tier=tier,
            **fields,
        )
        open_account(member)
        return member

    return make


@pytest.fixture
def tiers(db):
    """普通 (default) < 银卡 at ¥1,000 lifetime < 金卡 at ¥5,000 < 钻石 at ¥20,000."""
    return {
        "normal": Tier.objects.create(code="normal", name="普通会员", rank=0, is_default=True),
        "silver": Tier.objects.create(
            code="silver", name="银卡会员", rank=1, upgrade_spend=Decimal("1000")
        ),
        "gold": Tier.objects.create(
            code="gold",
            name="金卡会员",
            rank=2,
            upgrade_spend=Decimal("5000"),
            points_multiplier=Decimal("1.50"),
            birthday_bonus=200,
        ),
        "diamond": Tier.objects.create(
            code="diamond", name="钻石会员", rank=3, upgrade_spend=Decimal("20000")
        ),
    }


@pytest.fixture
def rules(db, tiers):
    """1 point per yuan, 100 points = 1 yuan up to 50%, expiry at the end of next year."""
    base = EarningRule.objects.create(
        name="每元1分", kind=EarningRule.Kind.PER_AMOUNT, points=1, per_amount=Decimal("1")
    )
    redemption = RedemptionRule.objects.create(
        name="100积分抵1元", points_per_yuan=100, max_share_percent=Decimal("50")
    )
    expiry = ExpiryPolicy.objects.create(
        name="次年年底",
        mode=ExpiryPolicy.Mode.YEAR_END,
        periods_after=1,
        start_date=date(2000, 1, 1),
    )
    return {"earn": base, "redeem": redemption, "expiry": expiry, **tiers}


@pytest.fixture
def member(make_member, tiers):
    return make_member(tier=tiers["normal"])


def line(sku="A1", amount="100.00", qty=1, category="grocery", name="商品"):
    return {"sku": sku, "name": name, "category": category, "qty": qty, "amount": Decimal(amount)}
