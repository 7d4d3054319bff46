"""A small chain with activity in several stores, for the dashboard, the reports and the
settlement: members earn in one store and spend in another, recharge here and pay there."""

import itertools
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import Source
from loyalty.ledger import open_account, post_points_entry
from loyalty.models import EarningRule, ExpiryPolicy, PointsEntry, RedemptionRule
from members.models import Member, Tier
from reports import services
from sales.services import post_sale, refund_sale
from wallet.ledger import open_wallet
from wallet.models import RechargePlan
from wallet.services import recharge_wallet

_numbers = itertools.count(1)
_receipts = itertools.count(1)


def line(amount, sku="A1", category="grocery"):
    return {"sku": sku, "name": "商品", "category": category, "qty": 1, "amount": Decimal(amount)}


def make_member(store, tier=None, **fields):
    n = next(_numbers)
    member = Member.objects.create(
        member_no=fields.pop("member_no", f"R{n:07d}"),
        phone=fields.pop("phone", f"137{n:08d}"),
        name=fields.pop("name", f"会员{n}"),
        home_store=store,
        tier=tier,
        **fields,
    )
    open_account(member)
    open_wallet(member)
    return member


def sell(member, store, amount, redeem=0, stored_value="0.00", at=None):
    return post_sale(
        store=store,
        member=member,
        receipt_no=f"S{next(_receipts):06d}",
        lines=[line(amount)],
        total=Decimal(amount),
        redeem_points=redeem,
        stored_value_amount=Decimal(stored_value),
        source=Source.TILL,
        at=at,
    )


def refund(sale, at=None):
    return refund_sale(sale=sale, refund_no=f"F{next(_receipts):06d}", source=Source.TILL, at=at)


def recharge(member, store, amount, plan=None, at=None):
    return recharge_wallet(
        member=member, amount=Decimal(amount), store=store, plan=plan, source=Source.TILL, at=at
    )


@pytest.fixture
def report_rules(db):
    """1 point per yuan; 100 points = 1 yuan up to 50% of a sale; points expire at the end of
    next year; tiers 普通 / 银卡 (¥1,000)."""
    tiers = {
        "normal": Tier.objects.create(code="normal", name="普通会员", rank=0, is_default=True),
        "silver": Tier.objects.create(
            code="silver", name="银卡会员", rank=1, upgrade_spend=Decimal("1000")
        ),
    }
    EarningRule.objects.create(
        name="每元1分", kind=EarningRule.Kind.PER_AMOUNT, points=1, per_amount=Decimal("1")
    )
    RedemptionRule.objects.create(
        name="100积分抵1元", points_per_yuan=100, max_share_percent=Decimal("50")
    )
    ExpiryPolicy.objects.create(
        name="次年年底",
        mode=ExpiryPolicy.Mode.YEAR_END,
        periods_after=1,
        start_date=timezone.localdate().replace(year=2000, month=1, day=1),
    )
    return tiers


def _yesterday_noon():
    day = timezone.localdate() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


@pytest.fixture
def activity(chain, report_rules):
    """Yesterday and today in four stores, then the nightly job's figures.

    - 张三 (SH001) earns 1,000 points in SH001 yesterday and spends 200 of them in SH002
      today (SH001 owes SH002); recharges ¥500 in SH001 under a plan and pays ¥100 in SH002.
    - 李四 (BJ001) earns 800 in BJ001 yesterday and spends 300 in GZ001 today (BJ001 owes
      GZ001); recharges ¥300 in BJ001 and pays ¥120 in GZ001.
    - 王五 (SH002) buys in SH002 yesterday; 赵六 (GZ001) in GZ001 today.
    - 50 points of 张三 and 60 of 李四 expire in ten days (the reminder list).
    """
    yesterday = _yesterday_noon()
    s = chain
    plan = RechargePlan.objects.create(
        code="P500", name="充500送50", pay_amount=Decimal("500"), bonus_amount=Decimal("50")
    )
    zhang = make_member(s["SH001"], report_rules["normal"], name="张三")
    li = make_member(s["BJ001"], report_rules["normal"], name="李四")
    wang = make_member(s["SH002"], report_rules["normal"], name="王五")
    zhao = make_member(s["GZ001"], report_rules["normal"], name="赵六")
    sales = {
        "zhang_earn": sell(zhang, s["SH001"], "1000.00", at=yesterday),
        "li_earn": sell(li, s["BJ001"], "800.00", at=yesterday),
        "wang": sell(wang, s["SH002"], "300.00", at=yesterday),
    }
    recharge(zhang, s["SH001"], "500.00", plan=plan)
    recharge(li, s["BJ001"], "300.00")
    sales["zhang_spend"] = sell(zhang, s["SH002"], "400.00", redeem=200, stored_value="100.00")
    sales["li_spend"] = sell(li, s["GZ001"], "600.00", redeem=300, stored_value="120.00")
    sales["zhao"] = sell(zhao, s["GZ001"], "50.00")
    soon = timezone.now() + timedelta(days=10)
    for member, points, store in ((zhang, 50, s["SH001"]), (li, 60, s["BJ001"])):
        post_points_entry(
            member=member,
            points=points,
            kind=PointsEntry.Kind.BONUS,
            source=Source.ADMIN,
            store=store,
            expires_at=soon,
            reason="即将过期",
        )
    services.refresh_daily_stats(
        first_day=timezone.localdate() - timedelta(days=3),
        last_day=timezone.localdate(),
        source=Source.COMMAND,
    )
    services.refresh_snapshots(source=Source.COMMAND)
    return {"members": {"zhang": zhang, "li": li, "wang": wang, "zhao": zhao}, "sales": sales}
