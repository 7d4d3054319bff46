"""Demo members for `seed_demo`: N members across the four stores, with opening balances."""

from decimal import Decimal

from django.utils.translation import gettext as _

from core.models import Source
from members.models import Member

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
STORE_CODES = ["SH001", "SH002", "BJ001", "GZ001"]


def demo_phone(i):
    return f"1390000{i:04d}"


def seed_members(ctx):
    """Open ctx["members"] demo members through open_member. Idempotent: phones are fixed, and
    a phone that is already a member is skipped."""
    from members.services import open_member

    stores = ctx["stores"]
    count = int(ctx.get("members") or 0)
    existing = set(
        Member.objects.filter(phone__in=[demo_phone(i) for i in range(count)]).values_list(
            "phone", flat=True
        )
    )
    opened = 0
    for i in range(count):
        phone = demo_phone(i)
        if phone in existing:
            continue
        open_member(
            phone=phone,
            home_store=stores[STORE_CODES[i % len(STORE_CODES)]],
            source=Source.COMMAND,
            actor=ctx.get("admin"),
            name=SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)],
            gender="MF"[i % 2],
            initial_points=(i * 37) % 500,
            initial_stored_value=Decimal((i * 13) % 300),
        )
        opened += 1
    if ctx.get("stdout") is not None and opened:
        ctx["stdout"].write(_("%(count)d demo members opened.") % {"count": opened})
