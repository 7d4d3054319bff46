"""Fixtures for coupons: the demo's three templates, members with points, and helpers to issue
coupons and check out with them."""

import itertools
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.models import Source
from coupons.models import CouponTemplate, CouponTemplateVersion
from coupons.services import issue_coupon, save_coupon_template
from loyalty.ledger import post_points_entry
from loyalty.models import PointsEntry
from sales.services import post_sale, refund_sale
from tests.api.conftest import _fresh_throttle_counts, api, till  # noqa: F401
from tests.loyalty.conftest import line, make_member, member, rules, tiers  # noqa: F401
from wallet.ledger import open_wallet

Version = CouponTemplateVersion
SHANGHAI = ZoneInfo("Asia/Shanghai")
_occasions = itertools.count(1)
_receipts = itertools.count(1)


def shanghai(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def make_template(code, *, name=None, store_ids=(), template=None, **terms):
    """A template with its terms (validity 30 days after issue unless said)."""
    fields = {
        key: terms.pop(key)
        for key in list(terms)
        if key
        in {
            "total_quantity",
            "per_member_limit",
            "exchange_points",
            "on_registration",
            "on_birthday",
            "on_first_purchase",
            "claim_from",
            "claim_until",
            "is_active",
        }
    }
    template = CouponTemplate(code=code, name=name or code, **fields)
    save_coupon_template(
        template=template,
        terms={"validity": Version.Validity.RELATIVE, "valid_days": 30, **terms},
        store_ids=list(store_ids),
    )
    return template


@pytest.fixture
def cash10(db):
    """满50减10, all stores, 30 days after issue, or 1,000 points."""
    return make_template(
        "CASH10",
        name="满50减10",
        face_value=Decimal("10"),
        threshold=Decimal("50"),
        exchange_points=1000,
        per_member_limit=5,
    )


@pytest.fixture
def fresh90(db):
    """10% off fresh food, at most ¥20, no threshold."""
    return make_template(
        "FRESH90",
        name="生鲜9折",
        kind=Version.Kind.PERCENT,
        percent_off=Decimal("10"),
        cap=Decimal("20"),
        scope=Version.Scope.CATEGORIES,
        categories="fresh",
        per_member_limit=5,
    )


@pytest.fixture
def sh001only(chain):
    """¥5 off, no threshold, only at SH001, not combinable."""
    return make_template(
        "SH001ONLY",
        face_value=Decimal("5"),
        stores=Version.Stores.LISTED,
        combinable=False,
        store_ids=[chain["SH001"].pk],
        per_member_limit=5,
    )


def give(template, member, *, at=None):
    """Issue one coupon of `template` to `member` (a fresh occasion each call)."""
    return issue_coupon(
        template=template,
        member=member,
        occasion=f"test:{next(_occasions)}",
        source=Source.ADMIN,
        at=at,
    )


def grant_points(member, points):
    return post_points_entry(
        member=member,
        points=points,
        kind=PointsEntry.Kind.ADJUST,
        source=Source.ADMIN,
        reason="test",
        key=f"test-grant:{member.pk}:{next(_occasions)}",
    )


def checkout(member, lines, *, store=None, coupons=(), receipt_no=None, **kwargs):
    lines = list(lines)
    return post_sale(
        store=store or member.home_store,
        member=member,
        receipt_no=receipt_no or f"R{next(_receipts):06d}",
        lines=lines,
        total=sum((ln["amount"] for ln in lines), Decimal("0")),
        coupon_codes=[getattr(c, "code", c) for c in coupons],
        source=Source.TILL,
        **kwargs,
    )


def refund(sale, lines=None, *, refund_no=None, at=None):
    return refund_sale(
        sale=sale,
        refund_no=refund_no or f"F{next(_receipts):06d}",
        lines=lines,
        source=Source.TILL,
        at=at,
    )


@pytest.fixture
def wallet_member(member):
    open_wallet(member)
    return member


__all__ = ["line", "make_member", "member", "rules", "tiers"]
