"""Demo stored value for `seed_demo`: recharge plans, and recharges and payments.

Idempotent: rules are found by code, history is written with idempotency keys, so a second
run adds nothing.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from core.models import Source
from members.models import Member

from .models import RechargePlan
from .services import pay_with_stored_value, recharge_wallet

PLANS = [
    # code, name, pay, bonus stored value, bonus points
    ("R500", "充500送50", "500.00", "50.00", 0),
    ("R1000", "充1000送120", "1000.00", "120.00", 0),
    ("R200P", "充200送500积分", "200.00", "0.00", 500),
]
HISTORY_MEMBERS = 30


def seed_rules(ctx):
    for code, name, pay, bonus, points in PLANS:
        RechargePlan.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "pay_amount": Decimal(pay),
                "bonus_amount": Decimal(bonus),
                "bonus_points": points,
            },
        )


def seed_history(ctx):
    """Recharges and a stored-value payment for the first demo members."""
    admin = ctx.get("admin")
    plans = list(RechargePlan.objects.filter(code__in=["R500", "R1000"]).order_by("pay_amount"))
    members = Member.objects.select_related("home_store").order_by("pk")[:HISTORY_MEMBERS]
    now = timezone.now()
    for i, member in enumerate(members):
        if i % 2 or not plans:
            continue
        store = member.home_store
        at = now - timedelta(days=30 - i)
        plan = plans[i // 2 % len(plans)]
        recharge_wallet(
            member=member,
            amount=plan.pay_amount,
            plan=plan,
            store=store,
            source=Source.COMMAND,
            actor=admin,
            reference=f"DEMO-R{member.pk}",
            key=f"demo-recharge:{member.pk}",
            at=at,
        )
        pay_with_stored_value(
            member=member,
            amount=Decimal("88.00") + i,
            store=store,
            source=Source.COMMAND,
            actor=admin,
            reference=f"DEMO-S{member.pk}",
            key=f"demo-pay:{member.pk}",
        )
