"""Manual adjustments with approval; gifts from a store's stock."""

import threading

import pytest
from django.db import close_old_connections

from loyalty.exceptions import (
    ApprovalNotAllowed,
    InsufficientPoints,
    InvalidAdjustment,
    OutOfStock,
)
from loyalty.models import Gift, GiftStock, PointsAccount, PointsAdjustment
from loyalty.services import adjust_points, approve_adjustment, redeem_gift, reject_adjustment
from tests.factories import UserFactory


def balance(member):
    return PointsAccount.objects.get(member=member).balance


def adjust(member, points, actor, **kwargs):
    fields = {"reason_category": "complaint", "reason": "顾客投诉补偿"} | kwargs
    return adjust_points(member=member, points=points, source="admin", actor=actor, **fields)


def test_a_small_adjustment_posts_at_once(member, head_office, check_ledgers, settings):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 5000

    adjustment = adjust(member, 1000, head_office)

    assert adjustment.status == "posted" and balance(member) == 1000
    assert adjustment.entry.actor == head_office and "顾客投诉补偿" in adjustment.entry.reason
    adjust(member, -400, head_office, reason_category="correction", reason="重复录入")
    assert balance(member) == 600
    with pytest.raises(InsufficientPoints):
        adjust(member, -601, head_office, reason_category="correction", reason="x")
    check_ledgers()


def test_a_days_adjustments_by_one_person_count_together_against_the_threshold(
    member, head_office, chain, check_ledgers, settings
):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 1000
    approver = _approver()

    parts = [adjust(member, 400, head_office) for _ in range(3)]  # 1,200 split in three

    assert [a.status for a in parts] == ["posted", "posted", "pending"]
    assert balance(member) == 800
    approve_adjustment(adjustment=parts[2], actor=approver, source="admin")
    assert balance(member) == 1200
    # another person's adjustment for the same member counts on its own
    assert adjust(member, 400, approver).status == "posted"
    check_ledgers()


def _approver():
    from django.contrib.auth.models import Group

    from stores.roles import HEAD_OFFICE
    from tests.factories import UserFactory

    user = UserFactory(username="approver", is_staff=True)
    user.groups.add(Group.objects.get(name=HEAD_OFFICE))
    return user


def test_an_adjustment_needs_a_reason_and_a_category(member, head_office):
    with pytest.raises(InvalidAdjustment) as error:
        adjust(member, 10, head_office, reason="  ", reason_category="nope")
    assert set(error.value.fields) == {"reason", "reason_category"}
    with pytest.raises(InvalidAdjustment):
        adjust(member, 0, head_office)


def test_a_large_adjustment_waits_for_a_second_head_office_user(
    member, head_office, sh001_manager, check_ledgers, settings
):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 1000
    adjustment = adjust(member, 1001, head_office)
    assert adjustment.status == "pending" and balance(member) == 0

    with pytest.raises(ApprovalNotAllowed):  # not one's own
        approve_adjustment(adjustment=adjustment, actor=head_office, source="admin")
    with pytest.raises(ApprovalNotAllowed):  # store managers cannot approve
        approve_adjustment(adjustment=adjustment, actor=sh001_manager, source="admin")

    second = UserFactory(username="head_office_2", is_staff=True)
    second.groups.set(head_office.groups.all())
    approve_adjustment(adjustment=adjustment, actor=second, source="admin")

    adjustment.refresh_from_db()
    assert adjustment.status == "posted" and adjustment.decided_by == second
    assert balance(member) == 1001
    with pytest.raises(ApprovalNotAllowed):  # decided already
        reject_adjustment(adjustment=adjustment, actor=second, source="admin")
    check_ledgers()


def test_a_rejected_adjustment_moves_nothing(member, head_office, settings):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 10
    adjustment = adjust(member, 500, head_office)
    second = UserFactory(username="head_office_2", is_staff=True)
    second.groups.set(head_office.groups.all())

    reject_adjustment(adjustment=adjustment, actor=second, source="admin")

    assert PointsAdjustment.objects.get().status == "rejected" and balance(member) == 0


@pytest.fixture
def mug(chain):
    gift = Gift.objects.create(code="MUG", name="马克杯", points=500)
    GiftStock.objects.create(gift=gift, store=chain["SH001"], quantity=2)
    return gift


def test_it_redeems_a_gift_from_the_store_stock(chain, member, head_office, mug, check_ledgers):
    adjust(member, 1000, head_office)

    redemption = redeem_gift(
        member=member, gift_code="MUG", qty=2, store=chain["SH001"], source="till", key="t1"
    )
    again = redeem_gift(
        member=member, gift_code="MUG", qty=2, store=chain["SH001"], source="till", key="t1"
    )

    assert again.pk == redemption.pk and redemption.points_spent == 1000
    assert balance(member) == 0
    assert GiftStock.objects.get(gift=mug, store=chain["SH001"]).quantity == 0
    check_ledgers()


def test_it_refuses_a_gift_out_of_stock_or_without_points(
    chain, member, head_office, mug, check_ledgers
):
    adjust(member, 600, head_office)

    with pytest.raises(OutOfStock):  # BJ001 holds none
        redeem_gift(member=member, gift_code="MUG", qty=1, store=chain["BJ001"], source="till")
    with pytest.raises(OutOfStock):
        redeem_gift(member=member, gift_code="MUG", qty=3, store=chain["SH001"], source="till")
    with pytest.raises(InsufficientPoints):
        redeem_gift(member=member, gift_code="MUG", qty=2, store=chain["SH001"], source="till")
    assert GiftStock.objects.get(gift=mug, store=chain["SH001"]).quantity == 2
    assert balance(member) == 600
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_the_last_gift_goes_to_one_member_only(chain, make_member, head_office, mug):
    members = [make_member() for _ in range(6)]
    for m in members:
        adjust(m, 500, head_office)
    start = threading.Barrier(len(members))
    outcomes = []

    def till(m):
        try:
            start.wait()
            redeem_gift(member=m, gift_code="MUG", qty=1, store=chain["SH001"], source="till")
            outcomes.append("ok")
        except OutOfStock:
            outcomes.append("out")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=till, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("ok") == 2 and outcomes.count("out") == 4
    assert GiftStock.objects.get(gift=mug, store=chain["SH001"]).quantity == 0
