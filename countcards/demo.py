"""Demo count cards for `seed_demo`: packages, and cards sold to some members (paid from the
stored value wallet/demo.py gave them). Idempotent: found by code, sold with keys."""

from decimal import Decimal

from core.models import Source
from members.models import Member

from .models import CountCardPackage
from .services import sell_count_card

PACKAGES = [
    # code, name, visits, price, valid days
    ("JUICE10", "鲜榨果汁10次卡", 10, "150.00", 180),
    ("CLEAN5", "家电清洗5次卡", 5, "399.00", 365),
]
HISTORY_MEMBERS = 30


def seed_rules(ctx):
    for code, name, visits, price, days in PACKAGES:
        CountCardPackage.objects.get_or_create(
            code=code,
            defaults={"name": name, "visits": visits, "price": Decimal(price), "valid_days": days},
        )


def seed_history(ctx):
    """A count card for every fourth of the first demo members (those wallet/demo recharged)."""
    admin = ctx.get("admin")
    packages = list(CountCardPackage.objects.filter(code__in=[p[0] for p in PACKAGES]))
    members = Member.objects.select_related("home_store").order_by("pk")[:HISTORY_MEMBERS]
    for i, member in enumerate(members):
        if not packages or i % 4:
            continue
        sell_count_card(
            member=member,
            package=packages[i // 4 % len(packages)],
            store=member.home_store,
            source=Source.COMMAND,
            actor=admin,
            pay_from_stored_value=True,
            key=f"demo-countcard:{member.pk}",
        )
