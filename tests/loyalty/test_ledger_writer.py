"""The one writer of points: FEFO lots, exact give-back, debt, idempotency, locks."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections

from loyalty.exceptions import InsufficientPoints
from loyalty.ledger import post_points_entry
from loyalty.models import LotConsumption, PointsAccount, PointsEntry, PointsLot

SH = ZoneInfo("Asia/Shanghai")
Kind = PointsEntry.Kind


def at(*args):
    return datetime(*args, tzinfo=SH)


def earn(member, points, expires_at=None, key=None, when=None):
    return post_points_entry(
        member=member,
        points=points,
        kind=Kind.EARN,
        source="admin",
        expires_at=expires_at,
        key=key,
        at=when,
    )


def spend(member, points, **kwargs):
    return post_points_entry(
        member=member, points=-points, kind=Kind.REDEEM, source="till", **kwargs
    )


def remaining(entry):
    return PointsLot.objects.get(entry=entry).remaining


def test_it_consumes_lots_first_to_expire_first(member, check_ledgers):
    # given three lots expiring in 2031, never, and 2030 (created in that order)
    late = earn(member, 100, at(2031, 1, 1))
    never = earn(member, 100, None)
    soon = earn(member, 100, at(2030, 1, 1))

    # when 150 points are spent
    entry = spend(member, 150)

    # then the 2030 lot empties first, the 2031 lot gives the rest, the never-lot is untouched
    assert (remaining(soon), remaining(late), remaining(never)) == (0, 50, 100)
    taken = dict(LotConsumption.objects.filter(entry=entry).values_list("lot__entry", "points"))
    assert taken == {soon.pk: 100, late.pk: 50}
    check_ledgers()


def test_it_gives_back_to_the_exact_lots_it_took(member, check_ledgers):
    soon = earn(member, 100, at(2030, 1, 1))
    late = earn(member, 100, at(2031, 1, 1))
    redeem = spend(member, 150)
    earn(member, 40, at(2029, 6, 1))  # a newer, sooner lot must not receive the give-back

    post_points_entry(
        member=member, points=120, kind=Kind.REDEEM_REVERSAL, source="till", reverses=redeem
    )

    # the give-back refills the lots the spend took, in the order it took them
    assert (remaining(soon), remaining(late)) == (100, 70)
    with pytest.raises(ValueError):  # only 30 are left to give back
        post_points_entry(
            member=member, points=31, kind=Kind.REDEEM_REVERSAL, source="till", reverses=redeem
        )
    check_ledgers()


def test_it_refuses_to_overdraw_without_a_debt_policy(member, check_ledgers):
    earn(member, 50)

    with pytest.raises(InsufficientPoints):
        spend(member, 51)

    assert PointsAccount.objects.get(member=member).balance == 50
    check_ledgers()


def test_it_opens_a_debt_openly_and_pays_it_from_the_next_earning(member, check_ledgers):
    earn(member, 30)

    post_points_entry(
        member=member, points=-50, kind=Kind.EARN_REVERSAL, source="till", allow_negative=True
    )
    account = PointsAccount.objects.get(member=member)
    assert account.balance == -20 and account.in_debt
    check_ledgers()

    # the next 50 points pay the 20 owed first: only 30 land in a lot
    entry = earn(member, 50)
    assert PointsAccount.objects.get(member=member).balance == 30
    assert remaining(entry) == 30
    check_ledgers()


def test_it_returns_the_first_entry_for_a_repeated_key(member, check_ledgers):
    first = earn(member, 100, key="import:row:7")

    again = earn(member, 100, key="import:row:7")

    assert again.pk == first.pk
    assert PointsAccount.objects.get(member=member).balance == 100
    assert PointsEntry.objects.filter(account__member=member).count() == 1
    check_ledgers()


def test_it_does_not_spend_a_lot_past_its_expiry_before_the_job_runs(member, check_ledgers):
    earn(member, 100, at(2025, 1, 1), when=at(2024, 5, 1))
    earn(member, 10, None, when=at(2024, 5, 1))

    # one second before expiry the lot is spendable
    spend(member, 5, at=at(2024, 12, 31, 23, 59, 59))
    # at expiry only the never-expiring lot is
    with pytest.raises(InsufficientPoints):
        spend(member, 20, at=at(2025, 1, 1, 0, 0, 0))
    spend(member, 10, at=at(2025, 1, 1, 0, 0, 0))
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_it_never_overdraws_with_20_threads_redeeming_at_once(member, check_ledgers):
    # given 1,000 points and 20 tills each redeeming 70 at the same moment
    earn(member, 1000)
    start = threading.Barrier(20)
    outcomes = []

    def till():
        try:
            start.wait()
            spend(member, 70)
            outcomes.append("ok")
        except InsufficientPoints:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=till) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly 14 went through (980 points), 6 were refused, nothing is lost or doubled
    assert outcomes.count("ok") == 14 and outcomes.count("refused") == 6
    account = PointsAccount.objects.get(member=member)
    assert account.balance == 20 and account.lifetime_redeemed == 980
    check_ledgers()
