"""expire_points: lots past due, at the boundary, set-based, rerun-safe, one run at a time."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from loyalty.exceptions import ExpiryAlreadyRunning
from loyalty.ledger import EXPIRY_LOCK_ID, expire_points, post_points_entry
from loyalty.models import PointsAccount, PointsEntry, PointsLot
from loyalty.selectors import points_expiring
from loyalty.services import grant_opening_points
from sales.services import refund_sale
from tests.sales.test_sales import sell

from .conftest import line

SH = ZoneInfo("Asia/Shanghai")
LAST_SECOND = datetime(2025, 12, 31, 23, 59, 59, tzinfo=SH)
NEW_YEAR = datetime(2026, 1, 1, 0, 0, 0, tzinfo=SH)


def balance(member):
    return PointsAccount.objects.get(member=member).balance


def expired_entries(member):
    return PointsEntry.objects.filter(account__member=member, kind="expire")


@pytest.fixture
def earned_in_2024(chain, rules, member):
    """100 points earned in March 2024 (expire at the end of 2025), 30 of them spent."""
    with time_machine.travel(datetime(2024, 3, 10, 12, tzinfo=SH), tick=False):
        sale = sell(member, chain["SH001"], "R1", at=None)
        post_points_entry(member=member, points=-30, kind="redeem", source="till")
    return sale


def test_a_lot_is_alive_at_the_last_second_of_the_year_and_gone_at_new_year(
    member, earned_in_2024, check_ledgers
):
    lot = PointsLot.objects.get(account__member=member)
    assert lot.expires_at == NEW_YEAR

    with time_machine.travel(LAST_SECOND, tick=False):
        assert expire_points(as_of=LAST_SECOND, source="task")["lots"] == 0
        assert expire_points(as_of=date(2025, 12, 31), source="task")["lots"] == 0
    assert balance(member) == 70

    with time_machine.travel(NEW_YEAR, tick=False):
        totals = expire_points(as_of=date(2026, 1, 1), source="task")

    assert totals == {"lots": 1, "points": 70, "accounts": 1}
    assert balance(member) == 0
    entry = expired_entries(member).get()
    assert entry.points == -70 and entry.balance_after == 0
    assert PointsAccount.objects.get(member=member).lifetime_expired == 70
    check_ledgers()


def test_a_second_run_as_of_the_same_day_writes_nothing(member, earned_in_2024, check_ledgers):
    with time_machine.travel(NEW_YEAR, tick=False):
        expire_points(as_of=date(2026, 1, 1), source="task")
        again = expire_points(as_of=date(2026, 1, 1), source="task")

    assert again["lots"] == 0 and expired_entries(member).count() == 1
    check_ledgers()


def test_points_given_back_to_an_expired_lot_expire_on_the_next_run(
    chain, rules, member, check_ledgers
):
    with time_machine.travel(datetime(2024, 3, 10, 12, tzinfo=SH), tick=False):
        sell(member, chain["SH001"], "R1", lines=[line(amount="150.00")], at=None)
    with time_machine.travel(datetime(2025, 12, 30, 12, tzinfo=SH), tick=False):
        paid = sell(
            member, chain["SH001"], "R2", lines=[line(amount="100.00")], at=None, redeem_points=100
        )
    with time_machine.travel(datetime(2026, 1, 1, 0, 30, tzinfo=SH), tick=False):
        assert expire_points(as_of=date(2026, 1, 1), source="task")["points"] == 50
        refund_sale(sale=paid, refund_no="RF1", source="till")  # 100 back to the 2024 lot
        check_ledgers()
        assert expire_points(as_of=date(2026, 1, 1), source="task")["lots"] == 0
        check_ledgers()
    with time_machine.travel(datetime(2026, 1, 2, 0, 30, tzinfo=SH), tick=False):
        assert expire_points(as_of=date(2026, 1, 2), source="task")["points"] == 100
    assert balance(member) == 0
    check_ledgers()


def test_it_leaves_never_expiring_and_later_lots_alone(chain, rules, member, check_ledgers):
    grant_opening_points(
        member=member, points=50, source="import", expires_at=datetime(2030, 1, 1, tzinfo=SH)
    )
    rules["expiry"].mode = "never"
    rules["expiry"].save()
    grant_opening_points(member=member, points=20, source="import")

    expire_points(as_of=date(2029, 12, 31), source="task")

    assert balance(member) == 70
    check_ledgers()


def test_the_command_expires_as_of_the_day_given(member, earned_in_2024, check_ledgers, capsys):
    call_command("expire_points", "--as-of", "2026-01-01")

    assert balance(member) == 0
    assert "70" in capsys.readouterr().out
    check_ledgers()


def test_it_lists_members_with_points_expiring_soon(member, earned_in_2024, make_member):
    make_member()  # nothing expiring

    soon = list(points_expiring(days=30, as_of=datetime(2025, 12, 15, tzinfo=SH)))
    later = list(points_expiring(days=30, as_of=datetime(2025, 11, 1, tzinfo=SH)))

    assert [(m.pk, m.expiring_points) for m in soon] == [(member.pk, 70)]
    assert later == []


def test_only_one_expiry_runs_at_a_time(member, earned_in_2024):
    db = settings.DATABASES["default"]
    other = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"] if db["NAME"].startswith("test_") else f"test_{db['NAME']}",
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [EXPIRY_LOCK_ID])
        with pytest.raises(ExpiryAlreadyRunning):
            expire_points(as_of=date(2026, 1, 1), source="task")
    finally:
        other.close()
    assert balance(member) == 70


def test_each_policy_dates_a_lot_earned_on_the_last_second_of_a_period():
    from loyalty.models import ExpiryPolicy

    def policy(mode, **kwargs):
        return ExpiryPolicy(name=mode, mode=mode, start_date=date(2000, 1, 1), **kwargs)

    earned = datetime(2025, 3, 31, 23, 59, 59, tzinfo=SH)  # last second of Q1

    assert policy("never").expires_at(earned) is None
    # N months: spendable through the same day N months later, gone at the next midnight
    assert policy("months", months=11).expires_at(earned) == datetime(2026, 3, 1, tzinfo=SH)
    assert policy("months", months=1).expires_at(earned) == datetime(2025, 5, 1, tzinfo=SH)
    assert policy("quarter_end", periods_after=0).expires_at(earned) == datetime(
        2025, 4, 1, tzinfo=SH
    )
    assert policy("quarter_end", periods_after=1).expires_at(
        datetime(2025, 4, 1, 0, 0, tzinfo=SH)
    ) == datetime(2025, 10, 1, tzinfo=SH)
    assert policy("year_end", periods_after=0).expires_at(
        datetime(2025, 12, 31, 23, 59, 59, tzinfo=SH)
    ) == datetime(2026, 1, 1, tzinfo=SH)
    assert policy("year_end", periods_after=1).expires_at(earned) == datetime(2027, 1, 1, tzinfo=SH)
