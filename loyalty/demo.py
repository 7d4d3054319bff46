"""Demo data for points and tiers (run by `manage.py seed_demo`). Every step is idempotent."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from members.models import Member
from stores.models import Source

from .models import EarningRule, ExpiryPolicy, Gift, GiftStock, RedemptionRule, Sale, Tier

TIERS = [
    # code, name, rank, upgrade spend, retain spend, multiplier, discount %, birthday bonus
    ("normal", "普通会员", 0, None, None, "1.00", "0.00", 0),
    ("silver", "银卡会员", 1, "1000", "500", "1.20", "2.00", 100),
    ("gold", "金卡会员", 2, "5000", "2500", "1.50", "5.00", 200),
    ("diamond", "钻石会员", 3, "20000", "10000", "2.00", "8.00", 500),
]
GIFTS = [("MUG", "品牌马克杯", 1500), ("BAG", "环保购物袋", 500), ("OIL", "食用油 5L", 6000)]
BASKETS = [
    ("690001", "有机鸡蛋 10 枚", "fresh", "18.80"),
    ("690002", "进口牛奶 1L", "dairy", "15.90"),
    ("690003", "五常大米 5kg", "grocery", "69.00"),
    ("690004", "三文鱼 300g", "fresh", "88.00"),
    ("690005", "纸巾 12 卷", "household", "32.50"),
    ("690006", "精酿啤酒 6 听", "drinks", "59.00"),
]


def seed_rules(ctx):
    """Tiers 普通/银卡/金卡/钻石, 1 point per yuan, double points on Wednesdays, 100 points =
    1 yuan up to 50% of an order, expiry at the end of the year after earning, gifts."""
    for code, name, rank, spend, retain, multiplier, discount, birthday in TIERS:
        Tier.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "rank": rank,
                "is_default": rank == 0,
                "upgrade_spend": Decimal(spend) if spend else None,
                "retain_spend": Decimal(retain) if retain else None,
                "points_multiplier": Decimal(multiplier),
                "discount_percent": Decimal(discount),
                "birthday_bonus": birthday,
            },
        )
    EarningRule.objects.get_or_create(
        name="每消费1元积1分",
        defaults={"kind": EarningRule.Kind.PER_AMOUNT, "points": 1, "per_amount": Decimal("1")},
    )
    EarningRule.objects.get_or_create(
        name="周三会员日双倍积分",
        defaults={
            "kind": EarningRule.Kind.MULTIPLIER,
            "multiplier": Decimal("2"),
            "weekdays": "3",
        },
    )
    RedemptionRule.objects.get_or_create(
        name="100积分抵1元",
        defaults={"points_per_yuan": 100, "step": 100, "max_share_percent": Decimal("50")},
    )
    ExpiryPolicy.objects.get_or_create(
        name="次年年底清零",
        defaults={
            "mode": ExpiryPolicy.Mode.YEAR_END,
            "periods_after": 1,
            "start_date": date(2000, 1, 1),
        },
    )
    for code, name, points in GIFTS:
        gift, _ = Gift.objects.get_or_create(code=code, defaults={"name": name, "points": points})
        for store in ctx["stores"].values():
            GiftStock.objects.get_or_create(gift=gift, store=store, defaults={"quantity": 50})


def seed_history(ctx, sales_per_member=4):
    """A year of sales for every demo member without one yet: a few baskets each, posted with
    `post_sale` at past dates (earning, member days, a redemption now and then, upgrades)."""
    from .services import post_sale

    seeded = set(
        Sale.objects.filter(receipt_no__startswith="DEMO-").values_list("member_id", flat=True)
    )
    now = timezone.now()
    count = 0
    for member in Member.objects.select_related("home_store", "tier").order_by("pk"):
        if member.pk in seeded:
            continue
        rng = random.Random(member.member_no)
        days = sorted(rng.sample(range(5, 360), sales_per_member), reverse=True)
        balance = 0
        for i, ago in enumerate(days):
            lines = [
                {"sku": sku, "name": name, "category": cat, "qty": 1, "amount": Decimal(price)}
                for sku, name, cat, price in rng.sample(BASKETS, rng.randint(1, 4))
            ]
            total = sum(line["amount"] for line in lines)
            redeem = 0
            if balance >= 200 and rng.random() < 0.3:
                redeem = min(balance, int(total * 50)) // 100 * 100
            sale = post_sale(
                store=member.home_store,
                member=member,
                receipt_no=f"DEMO-{member.member_no}-{i + 1}",
                lines=lines,
                total=total,
                source=Source.COMMAND,
                redeem_points=redeem,
                at=now - timedelta(days=ago, hours=rng.randint(0, 8)),
            )
            balance += sale.points_earned - sale.points_redeemed
            count += 1
    if count and ctx.get("stdout"):
        ctx["stdout"].write(f"loyalty: {count} demo sales")
