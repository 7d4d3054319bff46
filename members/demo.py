"""Demo members for `seed_demo`: N members across the four stores, half of them holding a card
from a card batch (a few from a batch of pre-printed silver cards), with opening balances dated
when they joined, before the year of history the other demo modules add. A few are big
spenders (ctx["spenders"]), so the sales demo lifts members into every tier."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Source
from members.models import Card, CardBatch, Member, Tier

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
STORE_CODES = ["SH001", "SH002", "BJ001", "GZ001"]
# Card batches: prefix, cards, initial tier code, initial points, notes.
BATCHES = [
    ("8610", 150, None, 0, "演示会员卡"),
    ("8620", 20, "silver", 200, "演示银卡（预制）"),
]
# Members joined this many days ago (spread over a month), before the first demo sale.
JOINED_DAYS_AGO = 400
# Demo member i (of 40) spends enough in the last 12 months to reach a tier.
SPENDERS = {20: "diamond", 10: "gold", 30: "gold", 5: "silver", 15: "silver", 25: "silver"}


def demo_phone(i):
    return f"1390000{i:04d}"


def seed_batches(ctx):
    """The demo card batches, generated once (found again by prefix)."""
    from members.services import generate_card_batch

    batches = {}
    for prefix, count, tier_code, points, notes in BATCHES:
        batch = CardBatch.objects.filter(prefix=prefix).order_by("pk").first()
        if batch is None:
            batch = generate_card_batch(
                prefix=prefix,
                count=count,
                source=Source.COMMAND,
                actor=ctx.get("admin"),
                initial_tier=Tier.objects.filter(code=tier_code).first() if tier_code else None,
                initial_points=points,
                notes=notes,
            )
        batches[prefix] = batch
    return batches


def _free_cards(batch):
    return list(
        Card.objects.filter(batch=batch, status=Card.Status.UNISSUED)
        .order_by("card_no")
        .values_list("card_no", flat=True)
    )


def seed_members(ctx):
    """Open ctx["members"] demo members through open_member. Idempotent: phones are fixed, and
    a phone that is already a member is skipped."""
    from members.services import open_member

    stores = ctx["stores"]
    count = int(ctx.get("members") or 0)
    batches = seed_batches(ctx)
    plain, silver = _free_cards(batches["8610"]), _free_cards(batches["8620"])
    existing = set(
        Member.objects.filter(phone__in=[demo_phone(i) for i in range(count)]).values_list(
            "phone", flat=True
        )
    )
    spenders = ctx.setdefault("spenders", {})
    now = timezone.now()
    opened = 0
    for i in range(count):
        phone = demo_phone(i)
        if phone in existing:
            continue
        card_no = ""
        if i % 10 == 7 and silver:
            card_no = silver.pop(0)
        elif i % 2 == 0 and plain:
            card_no = plain.pop(0)
        member = open_member(
            phone=phone,
            home_store=stores[STORE_CODES[i % len(STORE_CODES)]],
            source=Source.COMMAND,
            actor=ctx.get("admin"),
            name=SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)],
            gender="MF"[i % 2],
            initial_points=(i * 37) % 500,
            initial_stored_value=Decimal((i * 13) % 300),
            card_no=card_no,
            opened_at=now - timedelta(days=JOINED_DAYS_AGO - i % 30, hours=i % 9),
        )
        if i % 40 in SPENDERS:
            spenders[member.pk] = SPENDERS[i % 40]
        opened += 1
    if ctx.get("stdout") is not None and opened:
        ctx["stdout"].write(_("%(count)d demo members opened.") % {"count": opened})
