"""Fixtures for campaigns: members with purchase histories at fixed dates, segments, campaigns."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, Segment
from campaigns.services import save_segment
from core.models import Source
from sales.services import post_sale
from tests.coupons.conftest import cash10, make_template  # noqa: F401
from tests.loyalty.conftest import line, make_member, member, rules, tiers  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")
_receipts = itertools.count(1)
_codes = itertools.count(1)
# Every scenario happens around this moment (a Monday morning), so windows are exact.
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)


def days_ago(n, hour=10):
    return (NOW - timedelta(days=n)).replace(hour=hour, minute=0)


def buy(member, amount, at, *, store=None, coupons=(), category="grocery"):
    """A checkout of one line at `at` (through post_sale, as a till would)."""
    return post_sale(
        store=store or member.home_store,
        member=member,
        receipt_no=f"T{next(_receipts):07d}",
        lines=[line("A1", str(amount), category=category)],
        total=Decimal(str(amount)),
        coupon_codes=[getattr(c, "code", c) for c in coupons],
        source=Source.TILL,
        at=at,
    )


def make_segment(definition, name=None):
    return save_segment(segment=Segment(name=name or f"人群{next(_codes)}"), definition=definition)


def balanced_salt(members, control_percent=50, least=8):
    """A salt that puts at least `least` of `members` in each arm. A random salt leaves a
    small test audience lopsided now and then (4 of 24 in an arm about once in 150 runs); the
    split itself is tested in test_assignment.py."""
    from campaigns.assignment import BUCKETS, bucket

    cut = BUCKETS * control_percent // 100
    ids = [m.pk for m in members]
    return next(
        salt
        for salt in (f"balanced-{n}" for n in itertools.count())
        if least <= sum(bucket(salt, i) < cut for i in ids) <= len(ids) - least
    )


def make_campaign(segment, **fields):
    n = next(_codes)
    defaults = {
        "code": f"C{n:04d}",
        "name": f"活动{n}",
        "segment": segment,
        "control_percent": Decimal("10.00"),
        "measure_days": 30,
    }
    return Campaign.objects.create(**{**defaults, **fields})


@pytest.fixture
def everyone(db):
    """The segment of every active member."""
    return make_segment({"all": []}, name="全体会员")


__all__ = ["cash10", "line", "make_member", "make_template", "member", "rules", "tiers"]
