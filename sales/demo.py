"""Demo sales for `seed_demo`: a year of history for every demo member. Idempotent."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Source
from members.models import Member

from .models import Sale
from .services import evaluate_coupons, post_sale

# What the big spenders of the demo (members.demo: ctx["spenders"]) add to their baskets, and
# how many such sales: enough spend in the last 12 months to reach the tier named.
BIG_TICKETS = [
    ("690101", "空气净化器", "appliance", "1999.00"),
    ("690102", "进口红酒礼盒", "liquor", "888.00"),
    ("690103", "有机牛排礼盒", "fresh", "468.00"),
]
EXTRA_SALES = {"diamond": (8, BIG_TICKETS[:2]), "gold": (3, BIG_TICKETS[:1]),
               "silver": (3, BIG_TICKETS[2:])}  # fmt: skip
BASKETS = [
    ("690001", "有机鸡蛋 10 枚", "fresh", "18.80"),
    ("690002", "进口牛奶 1L", "dairy", "15.90"),
    ("690003", "五常大米 5kg", "grocery", "69.00"),
    ("690004", "三文鱼 300g", "fresh", "88.00"),
    ("690005", "纸巾 12 卷", "household", "32.50"),
    ("690006", "精酿啤酒 6 听", "drinks", "59.00"),
]


def seed_history(ctx, sales_per_member=4):
    """A year of sales for every demo member without one yet: a few baskets each, posted with
    `post_sale` at past dates (earning, member days, a redemption now and then), and for the
    big spenders of members.demo more and bigger baskets, so the tiers' upgrades happen on
    the sales that cross their thresholds."""
    seeded = set(
        Sale.objects.filter(receipt_no__startswith="DEMO-").values_list("member_id", flat=True)
    )
    spenders = ctx.get("spenders", {})
    now = timezone.now()
    count = 0
    for member in Member.objects.select_related("home_store", "tier").order_by("pk"):
        if member.pk in seeded:
            continue
        rng = random.Random(member.member_no)
        extra, big = EXTRA_SALES.get(spenders.get(member.pk), (0, []))
        days = sorted(rng.sample(range(5, 360), sales_per_member + extra), reverse=True)
        balance = 0
        for i, ago in enumerate(days):
            lines = [
                {"sku": sku, "name": name, "category": cat, "qty": 1, "amount": Decimal(price)}
                for sku, name, cat, price in rng.sample(BASKETS, rng.randint(1, 4))
                + (big if i >= sales_per_member else [])
            ]
            total = sum(line["amount"] for line in lines)
            redeem = 0
            if balance >= 200 and rng.random() < 0.3:
                redeem = min(balance, int(total * 50)) // 100 * 100
            at = now - timedelta(days=ago, hours=rng.randint(0, 8))
            sale = post_sale(
                store=member.home_store,
                member=member,
                receipt_no=f"DEMO-{member.member_no}-{i + 1}",
                lines=lines,
                total=total,
                source=Source.COMMAND,
                redeem_points=redeem,
                coupon_codes=_coupons_to_use(rng, member, lines, at),
                at=at,
            )
            balance += sale.points_earned - sale.points_redeemed
            count += 1
    if count and ctx.get("stdout"):
        ctx["stdout"].write(_("%(count)d demo sales posted.") % {"count": count})


def _coupons_to_use(rng, member, lines, at):
    """Most of the time, the coupons the member holds that apply to this basket (those
    coupons/demo.py issued in the weeks before), at most one that does not combine."""
    if rng.random() < 0.25:
        return []
    outcomes, _per_line = evaluate_coupons(
        store=member.home_store, member=member, lines=lines, at=at
    )
    usable = [o for o in outcomes if o.applicable]
    alone = [o.code for o in usable if not o.coupon.version.combinable]
    if alone:
        return alone[:1]
    chosen, templates = [], set()
    for outcome in usable:
        if outcome.coupon.template_id not in templates:
            templates.add(outcome.coupon.template_id)
            chosen.append(outcome.code)
    if len(chosen) > 1:
        # Applied together (item coupons first), the order coupon may miss its threshold.
        together, _per_line = evaluate_coupons(
            store=member.home_store, member=member, lines=lines, coupon_codes=chosen, at=at
        )
        if not all(o.applicable for o in together if o.code in chosen):
            chosen = chosen[:1]
    return chosen
