"""Bonuses pay once per occasion; tiers move down only by the monthly review."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from loyalty.models import BonusRule, PointsAccount, PointsEntry
from loyalty.services import grant_registration_bonus, review_tiers
from loyalty.tasks import grant_birthday_bonuses_task, review_tiers_task
from members.models import Tier, TierChange
from sales.models import Sale
from sales.services import grant_holiday_bonuses
from tests.sales.test_sales import sell

from .conftest import line

SH = ZoneInfo("Asia/Shanghai")


def balance(member):
    return PointsAccount.objects.get(member=member).balance


def test_the_birthday_job_run_twice_pays_once(rules, make_member, check_ledgers):
    gold = make_member(tier=rules["gold"], birthday=date(1990, 6, 1))
    normal = make_member(tier=rules["normal"], birthday=date(1991, 6, 1))  # no tier bonus
    other_day = make_member(tier=rules["gold"], birthday=date(1990, 6, 2))

    first = grant_birthday_bonuses_task.apply(kwargs={"on": "2026-06-01"}).get()
    second = grant_birthday_bonuses_task.apply(kwargs={"on": "2026-06-01"}).get()
    call_command("grant_birthday_bonuses", "--on", "2026-06-01")

    assert (first, second) == (1, 0)
    assert (balance(gold), balance(normal), balance(other_day)) == (200, 0, 0)
    # next year it is paid again
    grant_birthday_bonuses_task.apply(kwargs={"on": "2027-06-01"})
    assert balance(gold) == 400
    check_ledgers()


def test_a_29_february_birthday_is_paid_on_28_february_in_other_years(rules, make_member):
    leapling = make_member(tier=rules["gold"], birthday=date(2000, 2, 29))

    grant_birthday_bonuses_task.apply(kwargs={"on": "2027-02-28"})

    assert balance(leapling) == 200


def test_the_registration_bonus_is_paid_once(rules, member, check_ledgers):
    BonusRule.objects.create(kind="registration", name="开卡礼", points=50)

    grant_registration_bonus(member=member, source="till")
    grant_registration_bonus(member=member, source="till")

    assert balance(member) == 50
    check_ledgers()


def test_referral_pays_both_sides_once_when_the_first_sale_reaches_the_minimum(
    chain, rules, make_member, check_ledgers
):
    BonusRule.objects.create(
        kind="referral",
        name="推荐有礼",
        points=100,
        referrer_points=300,
        min_order_amount=Decimal("50"),
    )
    referrer = make_member(tier=rules["normal"])
    newcomer = make_member(tier=rules["normal"], referrer=referrer)

    sell(newcomer, chain["SH001"], "R1", lines=[line(amount="49.00")])
    assert balance(referrer) == 0
    sell(newcomer, chain["SH001"], "R2", lines=[line(amount="60.00")])
    sell(newcomer, chain["SH001"], "R3", lines=[line(amount="60.00")])

    assert balance(referrer) == 300
    assert balance(newcomer) == 49 + 60 + 60 + 100
    check_ledgers()


def test_holiday_shoppers_get_the_holiday_bonus_once(chain, rules, member, make_member):
    BonusRule.objects.create(kind="holiday", name="国庆", points=88, holiday=date(2026, 10, 1))
    stay_home = make_member(tier=rules["normal"])
    sell(member, chain["SH001"], "R1", at=datetime(2026, 10, 1, 15, tzinfo=SH))

    assert grant_holiday_bonuses(on=date(2026, 10, 1), source="task") == 1
    assert grant_holiday_bonuses(on=date(2026, 10, 1), source="task") == 0
    assert balance(member) == 100 + 88 and balance(stay_home) == 0


def test_spending_or_expiring_points_never_demotes(chain, rules, member, check_ledgers):
    sell(member, chain["SH001"], "R1", lines=[line(amount="1200.00")])
    member.refresh_from_db()
    assert member.tier == rules["silver"]

    sell(member, chain["SH001"], "R2", lines=[line(amount="100.00")], redeem_points=1200)
    review_tiers(source="task")

    member.refresh_from_db()
    assert member.tier == rules["silver"]
    check_ledgers()


def test_the_monthly_review_downgrades_by_the_retention_rule_once(
    chain, rules, member, check_ledgers
):
    Tier.objects.filter(pk=rules["silver"].pk).update(
        retain_spend=Decimal("500"), window=Tier.Window.ROLLING
    )
    with time_machine.travel(datetime(2025, 1, 10, tzinfo=SH), tick=False):
        sell(member, chain["SH001"], "R1", lines=[line(amount="1200.00")], at=None)
    member.refresh_from_db()
    assert member.tier == rules["silver"]

    # within 12 months the spend keeps the tier
    assert review_tiers(as_of=date(2025, 12, 1), source="task") == 0
    # a year later nothing was bought: down to the default tier, with why
    assert review_tiers_task.apply(kwargs={"as_of": "2026-02-01"}).get() == 1
    assert review_tiers(as_of=date(2026, 2, 1), source="task") == 0

    member.refresh_from_db()
    assert member.tier == rules["normal"]
    change = TierChange.objects.get(member=member, reason="downgrade")
    assert "500" not in change.detail and rules["silver"].name in change.detail
    assert Sale.objects.count() == 1
    assert PointsEntry.objects.filter(kind="expire").count() == 0
    check_ledgers()
