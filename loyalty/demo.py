"""Demo data for points and tiers (run by `manage.py seed_demo`). Every step is idempotent."""

from datetime import date
from decimal import Decimal

from members.models import Tier

from .models import EarningRule, ExpiryPolicy, Gift, GiftStock, RedemptionRule

TIERS = [
    # code, name, rank, upgrade spend, retain spend, multiplier, discount %, birthday bonus
    ("normal", "普通会员", 0, None, None, "1.00", "0.00", 0),
    ("silver", "银卡会员", 1, "1000", "500", "1.20", "2.00", 100),
    ("gold", "金卡会员", 2, "5000", "2500", "1.50", "5.00", 200),
    ("diamond", "钻石会员", 3, "20000", "10000", "2.00", "8.00", 500),
]
GIFTS = [("MUG", "品牌马克杯", 1500), ("BAG", "环保购物袋", 500), ("OIL", "食用油 5L", 6000)]


def seed_rules(ctx):
    """Tiers 普通/银卡/金卡/钻石 counted over the last 12 months (retention is reviewed on what
    a member spent in that window, so the window is rolling), 1 point per yuan, double points
    on Wednesdays, 100 points = 1 yuan up to 50% of an order, expiry at the end of the year
    after earning, gifts."""
    for code, name, rank, spend, retain, multiplier, discount, birthday in TIERS:
        tier, _created = Tier.objects.get_or_create(
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
                "window": Tier.Window.ROLLING,
            },
        )
        if tier.window != Tier.Window.ROLLING:  # a demo seeded when its tiers were lifetime
            tier.window = Tier.Window.ROLLING
            tier.save(update_fields=["window"])
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
