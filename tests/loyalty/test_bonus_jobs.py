"""Scheduled bonuses: each job catches up over every day not yet done, pays nothing twice, and
pays a holiday's last shoppers (it runs after the day is over)."""

from datetime import date, datetime

import time_machine

from loyalty.models import BonusRule, BonusRun, PointsEntry
from loyalty.services import grant_birthday_bonuses
from loyalty.tasks import grant_birthday_bonuses_task
from members.models import Tier
from sales.services import grant_holiday_bonuses
from sales.tasks import grant_holiday_bonuses_task
from tests.sales.test_sales import SH, balance, sell


def test_a_birthday_the_scheduler_missed_is_paid_the_next_day(rules, make_member, check_ledgers):
    gold = make_member(tier=rules["gold"], birthday=date(1990, 5, 2))
    with time_machine.travel(datetime(2026, 5, 1, 8, tzinfo=SH), tick=False):
        assert grant_birthday_bonuses_task.apply().get() == 0  # the job's first day
    # 2 May: the scheduler did not run. 3 May:
    with time_machine.travel(datetime(2026, 5, 3, 8, tzinfo=SH), tick=False):
        assert grant_birthday_bonuses_task.apply().get() == 1
        assert grant_birthday_bonuses_task.apply().get() == 0

    assert balance(gold) == 200
    assert list(BonusRun.objects.filter(job="birthday").values_list("day", flat=True)) == [
        date(2026, 5, 1),
        date(2026, 5, 2),
        date(2026, 5, 3),
    ]
    check_ledgers()


def test_a_member_without_a_tier_gets_the_default_tiers_birthday_bonus(rules, make_member):
    Tier.objects.filter(pk=rules["normal"].pk).update(birthday_bonus=50)
    unplaced = make_member(tier=None, birthday=date(1990, 5, 3))

    assert grant_birthday_bonuses(on=date(2026, 5, 3), source="task") == 1
    assert balance(unplaced) == 50


def test_holiday_shoppers_of_the_last_minutes_are_paid(chain, rules, member, check_ledgers):
    BonusRule.objects.create(kind="holiday", name="国庆", points=88, holiday=date(2026, 10, 1))
    sell(member, chain["SH001"], "R1", at=datetime(2026, 10, 1, 23, 55, tzinfo=SH))

    with time_machine.travel(datetime(2026, 10, 2, 0, 30, tzinfo=SH), tick=False):
        paid = grant_holiday_bonuses_task.apply().get()
        again = grant_holiday_bonuses_task.apply().get()

    assert (paid, again) == (1, 0)
    assert balance(member) == 100 + 88
    assert BonusRun.objects.filter(job="holiday", day=date(2026, 10, 1)).exists()
    check_ledgers()


def test_a_holiday_night_the_scheduler_missed_is_caught_up(chain, rules, member):
    BonusRule.objects.create(kind="holiday", name="国庆", points=88, holiday=date(2026, 10, 1))
    sell(member, chain["SH001"], "R1", at=datetime(2026, 10, 1, 12, tzinfo=SH))
    with time_machine.travel(datetime(2026, 9, 30, 0, 30, tzinfo=SH), tick=False):
        grant_holiday_bonuses(source="task")  # the job ran before the holiday

    # the night of 1-2 October it did not run; the next night:
    with time_machine.travel(datetime(2026, 10, 3, 0, 30, tzinfo=SH), tick=False):
        assert grant_holiday_bonuses(source="task") == 1

    assert PointsEntry.objects.filter(kind="bonus", points=88).count() == 1


def test_a_holiday_run_on_its_own_day_is_not_marked_done(chain, rules, member):
    BonusRule.objects.create(kind="holiday", name="国庆", points=88, holiday=date(2026, 10, 1))
    sell(member, chain["SH001"], "R1", at=datetime(2026, 10, 1, 10, tzinfo=SH))

    with time_machine.travel(datetime(2026, 10, 1, 12, tzinfo=SH), tick=False):
        assert grant_holiday_bonuses(on=date(2026, 10, 1), source="command") == 1

    assert not BonusRun.objects.filter(job="holiday").exists()
