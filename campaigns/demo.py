"""Demo campaigns for `seed_demo`.

- Segments: 流失挽回 (bought within the year, nothing for 45 days), 生日会员 (birthday today),
  高价值 (the RFM cell 重要价值客户).
- DEMO-WINBACK, finished: launched 50 days ago to the lapsed members with a ¥15 coupon
  (WINBACK15, 满60减15) and a 10% control group, measured over 30 days. Its history is built so
  the treated arm truly bought more: a cohort of lapsed members (opened in bulk) who came back
  with the coupon far more often than the control members came back on their own; its report
  shows a positive lift whose 95% interval excludes zero.
- DEMO-BIRTHDAY, running: every morning the members whose birthday it is get a ¥20 birthday
  coupon (BDAY20), once a year (cool-down 300 days), with a 10% control group; it started a week
  ago and ran every day since.
- The chain-wide holdout of this year (5%), and the member statistics refreshed at the end.

Idempotent: everything is found by its code first; a second run adds nothing. Every sale goes
through post_sale and every coupon through issue_coupons, so the ledgers agree.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from core.models import Source
from coupons.models import CouponTemplate, CouponTemplateVersion
from coupons.services import save_coupon_template
from members.models import ConsentDoor, Member, Tier
from members.models.member import name_initials
from members.services.members import bulk_open_members
from messaging.demo import give_consent, send_as_of
from sales.services import post_sale
from stores.models import Store

from .models import Campaign, CampaignMember, HoldoutDraw, Segment
from .services import (
    deliver_offers,
    draw_holdout,
    finish_campaign,
    launch_campaign,
    run_campaign_day,
    save_campaign,
    save_segment,
)
from .statistics import refresh_member_stats

Version = CouponTemplateVersion
COHORT = 900  # lapsed members of the win-back story
COHORT_PHONE = "1370000{:04d}"
WINBACK_DAYS_AGO = 50
BIRTHDAY_DAYS_AGO = 6
# How often a lapsed member came back in the 30 days after the launch: with the coupon, and on
# their own (the control group, and the treated who ignored the coupon).
CAME_BACK_WITH_COUPON = 0.55
CAME_BACK_ANYWAY = 0.20
SEGMENTS = [
    (
        "流失挽回",
        "一年内消费过、最近45天未消费",
        {
            "all": [
                {"field": "no_purchase_days", "cmp": ">=", "value": 45},
                {"field": "visits_365", "cmp": ">=", "value": 1},
            ]
        },
    ),
    ("生日会员", "今天生日", {"all": [{"field": "birthday_within", "cmp": "<=", "value": 0}]}),
    ("高价值", "RFM 重要价值客户", {"all": [{"field": "rfm_cell", "cmp": "in", "value": ["hhh"]}]}),
]
TEMPLATES = [
    ("WINBACK15", "回流专享满60减15", Decimal("15"), Decimal("60")),
    ("BDAY20", "生日礼满100减20", Decimal("20"), Decimal("100")),
]
BASKET = [
    ("690001", "有机鸡蛋 10 枚", "fresh"),
    ("690003", "五常大米 5kg", "grocery"),
    ("690004", "三文鱼 300g", "fresh"),
    ("690005", "纸巾 12 卷", "household"),
]


def seed_rules(ctx):
    admin = ctx.get("admin")
    for code, name, face, threshold in TEMPLATES:
        if CouponTemplate.objects.filter(code=code).exists():
            continue
        save_coupon_template(
            template=CouponTemplate(code=code, name=name, per_member_limit=5),
            terms={
                "kind": Version.Kind.CASH,
                "face_value": face,
                "threshold": threshold,
                "validity": Version.Validity.RELATIVE,
                "valid_days": 30,
            },
            actor=admin,
        )
    for name, description, definition in SEGMENTS:
        if not Segment.objects.filter(name=name).exists():
            save_segment(
                segment=Segment(name=name, description=description),
                definition=definition,
                actor=admin,
            )


def seed_history(ctx):
    """The win-back story (a cohort, its past, the campaign and what followed), the running
    birthday campaign, this year's holdout, and fresh statistics."""
    now = timezone.now()
    admin = ctx.get("admin")
    if not HoldoutDraw.objects.filter(year=now.year).exists():
        draw_holdout(year=now.year, percent=Decimal("5"), source=Source.COMMAND, actor=admin)
    stores = list(Store.objects.filter(code__in=["SH001", "SH002", "BJ001", "GZ001"]))
    if not Campaign.objects.filter(code="DEMO-WINBACK").exists() and stores:
        _winback(now, admin, stores, ctx)
    if not Campaign.objects.filter(code="DEMO-BIRTHDAY").exists():
        _birthday(now, admin, ctx)
    refresh_member_stats(source=Source.COMMAND)


def _line(rng, amount):
    sku, name, category = rng.choice(BASKET)
    return [{"sku": sku, "name": name, "category": category, "qty": 1, "amount": amount}]


def _sale(member, store, receipt, amount, at, rng, coupons=()):
    return post_sale(
        store=store,
        member=member,
        receipt_no=receipt,
        lines=_line(rng, amount),
        total=amount,
        coupon_codes=list(coupons),
        source=Source.COMMAND,
        at=at,
    )


def _cohort(now, stores, rng):
    """COHORT members opened long ago, birthdays spread over the year; each bought one to three
    times between 60 and 200 days before the win-back launch, then stopped."""
    tier = Tier.objects.filter(is_default=True).first()
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟"
    rows = []
    for i in range(COHORT):
        name = surnames[i % len(surnames)] + given[(i * 7) % len(given)] + given[(i * 3) % 14]
        rows.append(
            {
                "row_no": i + 1,
                "phone": COHORT_PHONE.format(i),
                "name": name,
                "name_initials": name_initials(name),
                "gender": "MF"[i % 2],
                "birthday": date(1970 + i % 35, 1, 1) + timedelta(days=(i * 37) % 365),
                "email": "",
                "address": "",
                "tier_id": tier.pk if tier else None,
                "home_store_id": stores[i % len(stores)].pk,
                "points": 0,
                "stored_value": Decimal("0.00"),
                "referrer_phone": None,
                "card_no": None,
                "notes": "",
                "points_expire_at": None,
            }
        )
    opened = bulk_open_members(
        rows=rows, source=Source.COMMAND, at=now - timedelta(days=WINBACK_DAYS_AGO + 400)
    )
    members = list(
        Member.objects.filter(pk__in=opened.values()).select_related("home_store").order_by("pk")
    )
    launch = now - timedelta(days=WINBACK_DAYS_AGO)
    for member in members:
        visits = sorted(rng.sample(range(60, 200), rng.randint(1, 3)), reverse=True)
        for n, days in enumerate(visits):
            amount = Decimal(rng.randrange(40, 160))
            at = launch - timedelta(days=days, hours=rng.randint(0, 8))
            _sale(member, member.home_store, f"DEMO-WB-{member.member_no}-{n}", amount, at, rng)
    return members


def _steady_salt(members, percent):
    """A salt under which `members` split within one standard deviation of the planned control
    share. Member ids differ from one database to the next, so a fixed salt splits them at
    random, and one demo in a thousand would show a sample-ratio warning (p < 0.001) that has
    nothing to do with the story it tells."""
    from .assignment import BUCKETS, bucket

    n, share = len(members), percent / 100
    cut, spread = BUCKETS * percent // 100, (len(members) * share * (1 - share)) ** 0.5
    for k in range(10_000):
        salt = f"demo-winback-{k}"
        if abs(sum(bucket(salt, m.pk) < cut for m in members) - n * share) <= spread:
            return salt
    return "demo-winback"


def _winback(now, admin, stores, ctx):
    rng = random.Random(20240601)
    launch = now - timedelta(days=WINBACK_DAYS_AGO)
    cohort = _cohort(now, stores, rng)
    # Most of the cohort agreed to marketing when they joined (brought in by an import).
    give_consent(cohort, door=ConsentDoor.IMPORT, at=now - timedelta(days=WINBACK_DAYS_AGO + 400))
    # The statistics as they were on the launch day: the segment reads them.
    refresh_member_stats(as_of=launch, source=Source.COMMAND)
    campaign = save_campaign(
        campaign=Campaign(
            code="DEMO-WINBACK",
            name="流失会员专属挽回券",
            segment=Segment.objects.get(name="流失挽回"),
            offer=Campaign.Offer.COUPON,
            coupon_template=CouponTemplate.objects.get(code="WINBACK15"),
            control_percent=Decimal("10.00"),
            measure_days=30,
            salt=_steady_salt(cohort, 10),
            notes="演示：流失会员发满60减15券，10%对比组不发券。",
        ),
        actor=admin,
    )
    launch_campaign(campaign=campaign, source=Source.COMMAND, actor=admin, at=launch)
    deliver_offers(campaign=campaign, day=timezone.localdate(launch), source=Source.COMMAND,
                   actor=admin, at=launch)  # fmt: skip
    # The offer's SMS and WeChat messages, through the console backend, as the sender would
    # have sent them on the launch day (a launch in quiet hours waited for 08:00).
    send_as_of(launch)
    arms = dict(CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "arm"))
    coupons = dict(_campaign_coupons(campaign))
    # Exactly the planned share of each arm comes back (which members is drawn at random), so
    # the story the report tells does not hang on the luck of a small control group.
    entered = [m for m in cohort if m.pk in arms]
    treated = [m for m in entered if arms[m.pk] == CampaignMember.Arm.TREATMENT]
    control = [m for m in entered if arms[m.pk] == CampaignMember.Arm.CONTROL]
    back = rng.sample(treated, round(len(treated) * CAME_BACK_WITH_COUPON))
    back += rng.sample(control, round(len(control) * CAME_BACK_ANYWAY))
    for member in sorted(back, key=lambda m: m.pk):
        at = launch + timedelta(days=rng.randint(1, 27), hours=rng.randint(1, 9))
        code = coupons.get(member.pk)
        amount = Decimal(rng.randrange(80, 160) if code else rng.randrange(60, 140))
        _sale(member, member.home_store, f"DEMO-WB-{member.member_no}-back", amount, at, rng,
              coupons=[code] if code else [])  # fmt: skip
    finish_campaign(
        campaign=campaign, source=Source.COMMAND, actor=admin, at=launch + timedelta(days=30)
    )
    if ctx.get("stdout"):
        campaign.refresh_from_db()
        ctx["stdout"].write(
            f"campaigns: DEMO-WINBACK {campaign.audience} members "
            f"({campaign.treatment} treatment / {campaign.control} control)"
        )


def _campaign_coupons(campaign):
    from coupons.models import Coupon

    return Coupon.objects.filter(
        template=campaign.coupon_template, issue_key__endswith=f":campaign:{campaign.pk}"
    ).values_list("owner_id", "code")


def _birthday(now, admin, ctx):
    campaign = save_campaign(
        campaign=Campaign(
            code="DEMO-BIRTHDAY",
            name="生日礼券",
            segment=Segment.objects.get(name="生日会员"),
            offer=Campaign.Offer.COUPON,
            coupon_template=CouponTemplate.objects.get(code="BDAY20"),
            control_percent=Decimal("10.00"),
            schedule=Campaign.Schedule.DAILY,
            cooldown_days=300,
            measure_days=30,
            notes="演示：每天早上给当天生日的会员发生日券，一年一次。",
            message_kind="birthday",
        ),
        actor=admin,
    )
    start = now - timedelta(days=BIRTHDAY_DAYS_AGO)
    launch_campaign(campaign=campaign, source=Source.COMMAND, actor=admin, at=start)
    deliver_offers(campaign=campaign, day=timezone.localdate(start), source=Source.COMMAND,
                   actor=admin, at=start)  # fmt: skip
    send_as_of(start)
    for day in range(BIRTHDAY_DAYS_AGO - 1, -1, -1):
        run_campaign_day(
            campaign=campaign, source=Source.COMMAND, actor=admin, at=now - timedelta(days=day)
        )
        send_as_of(now - timedelta(days=day))
    if ctx.get("stdout"):
        campaign.refresh_from_db()
        ctx["stdout"].write(f"campaigns: DEMO-BIRTHDAY running, {campaign.audience} entered")
