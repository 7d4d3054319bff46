"""Demo coupons for `seed_demo`: the templates CASH10 (满50减10, also 1,000 points), FRESH90 (10%
off fresh food, at most ¥20) and SH001ONLY (¥5 off, only at SH001, not combinable), coupons
issued over the past year (sales/demo.py uses those valid on a sale's day) and coupons members
hold now. Idempotent: templates found by code, coupons issued once per occasion."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from core.models import Source
from members.models import Member
from stores.models import Store

from .models import CouponTemplate, CouponTemplateVersion
from .services import issue_coupons, save_coupon_template

Version = CouponTemplateVersion
TEMPLATES = [
    # code, name, template fields, terms, listed stores
    (
        "CASH10",
        "满50减10",
        {"per_member_limit": 20, "exchange_points": 1000},
        {"kind": Version.Kind.CASH, "face_value": Decimal("10"), "threshold": Decimal("50")},
        [],
    ),
    (
        "FRESH90",
        "生鲜9折券",
        {"per_member_limit": 20},
        {
            "kind": Version.Kind.PERCENT,
            "percent_off": Decimal("10"),
            "cap": Decimal("20"),
            "scope": Version.Scope.CATEGORIES,
            "categories": "fresh",
        },
        [],
    ),
    (
        "SH001ONLY",
        "徐汇店5元券",
        {"per_member_limit": 20},
        {
            "kind": Version.Kind.CASH,
            "face_value": Decimal("5"),
            "stores": Version.Stores.LISTED,
            "combinable": False,
            "funding": Version.Funding.STORE,
        },
        ["SH001"],
    ),
]
# Coupons issued this many days ago to the first HISTORY_MEMBERS members: each lasts 30 days,
# so the demo sales in those windows may use them.
PAST_ISSUES = [340, 280, 220, 160, 100, 40]
HISTORY_MEMBERS = 80
HOLDING_MEMBERS = 40


def seed_rules(ctx):
    admin = ctx.get("admin")
    for code, name, fields, terms, stores in TEMPLATES:
        template = CouponTemplate.objects.filter(code=code).first()
        if template is not None:
            continue
        template = CouponTemplate(code=code, name=name, **fields)
        store_ids = list(Store.objects.filter(code__in=stores).values_list("pk", flat=True))
        save_coupon_template(
            template=template,
            terms={"validity": Version.Validity.RELATIVE, "valid_days": 30, **terms},
            store_ids=store_ids,
            actor=admin,
        )


def seed_history(ctx):
    """Coupons over the past year (to be used by the demo sales) and coupons held now."""
    admin = ctx.get("admin")
    now = timezone.now()
    templates = {
        t.code: t for t in CouponTemplate.objects.filter(code__in=[t[0] for t in TEMPLATES])
    }
    members = list(Member.objects.order_by("pk").values_list("pk", "home_store__code"))
    issued = 0
    for n, days in enumerate(PAST_ISSUES):
        for code in ("CASH10", "FRESH90"):
            issued += issue_coupons(
                template=templates[code],
                members=[pk for pk, _store in members[:HISTORY_MEMBERS]],
                occasion=f"demo:past:{n}",
                source=Source.COMMAND,
                actor=admin,
                at=now - timedelta(days=days),
            ).issued
    sh001 = [pk for pk, store in members[:HISTORY_MEMBERS] if store == "SH001"]
    issued += issue_coupons(
        template=templates["SH001ONLY"],
        members=sh001,
        occasion="demo:past:sh001",
        source=Source.COMMAND,
        actor=admin,
        at=now - timedelta(days=20),
    ).issued
    for code in ("CASH10", "FRESH90", "SH001ONLY"):
        holders = [pk for pk, store in members[:HOLDING_MEMBERS]
                   if code != "SH001ONLY" or store == "SH001"]  # fmt: skip
        issued += issue_coupons(
            template=templates[code],
            members=holders,
            occasion="demo:now",
            source=Source.COMMAND,
            actor=admin,
            at=now - timedelta(days=1),
        ).issued
    if issued and ctx.get("stdout"):
        ctx["stdout"].write(f"coupons: {issued} demo coupons")
