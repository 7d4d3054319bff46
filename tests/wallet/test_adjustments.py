"""Stored-value adjustments (储值调整): maker-checker like points, with a day's adjustments of
one person for one member counted together."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from stores.roles import HEAD_OFFICE
from tests.factories import UserFactory
from wallet.exceptions import AdjustmentApprovalNotAllowed, InsufficientStoredValue
from wallet.models import StoredValueAdjustment, Wallet
from wallet.services import (
    adjust_stored_value,
    approve_stored_value_adjustment,
    reject_stored_value_adjustment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def approver(chain):
    user = UserFactory(username="checker", is_staff=True)
    user.groups.add(Group.objects.get(name=HEAD_OFFICE))
    return user


def _balance(member):
    wallet = Wallet.objects.get(member=member)
    return wallet.principal + wallet.bonus


def test_a_small_adjustment_posts_at_once(member, head_office, settings, check_ledgers):
    settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal("200.00")

    adjustment = adjust_stored_value(
        member=member, principal="150.00", reason="补录", source="admin", actor=head_office
    )

    assert adjustment.status == "posted" and _balance(member) == Decimal("150.00")
    assert adjustment.entry.actor == head_office and adjustment.entry.kind == "adjustment"
    check_ledgers()


def test_a_big_adjustment_waits_for_another_person(
    member, head_office, approver, settings, check_ledgers
):
    settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal("200.00")
    adjustment = adjust_stored_value(
        member=member, principal="500.00", reason="迁移", source="admin", actor=head_office
    )
    assert adjustment.status == "pending" and _balance(member) == 0

    with pytest.raises(AdjustmentApprovalNotAllowed):
        approve_stored_value_adjustment(adjustment=adjustment, actor=head_office, source="admin")
    approved = approve_stored_value_adjustment(
        adjustment=adjustment, actor=approver, source="admin"
    )

    assert approved.status == "posted" and approved.decided_by == approver
    assert _balance(member) == Decimal("500.00")
    with pytest.raises(AdjustmentApprovalNotAllowed):  # decided already
        reject_stored_value_adjustment(adjustment=adjustment, actor=approver, source="admin")
    check_ledgers()


def test_splitting_an_adjustment_does_not_dodge_the_threshold(
    member, head_office, approver, settings, check_ledgers
):
    settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal("200.00")

    parts = [
        adjust_stored_value(
            member=member, principal="90.00", reason="补录", source="admin", actor=head_office
        )
        for _ in range(3)
    ]

    assert [p.status for p in parts] == ["posted", "posted", "pending"]
    assert _balance(member) == Decimal("180.00")
    rejected = reject_stored_value_adjustment(adjustment=parts[2], actor=approver, source="admin")
    assert rejected.status == "rejected" and _balance(member) == Decimal("180.00")
    check_ledgers()


def test_an_approval_that_would_overdraw_is_refused_and_stays_pending(
    member, head_office, approver, settings
):
    settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal("10.00")
    adjustment = adjust_stored_value(
        member=member, principal="-50.00", reason="纠错", source="admin", actor=head_office
    )

    with pytest.raises(InsufficientStoredValue):
        approve_stored_value_adjustment(adjustment=adjustment, actor=approver, source="admin")

    assert StoredValueAdjustment.objects.get(pk=adjustment.pk).status == "pending"


def test_a_retried_adjustment_with_its_key_is_made_once(member, head_office):
    first = adjust_stored_value(
        member=member, principal="10.00", reason="补录", source="admin", actor=head_office, key="a1"
    )
    again = adjust_stored_value(
        member=member, principal="10.00", reason="补录", source="admin", actor=head_office, key="a1"
    )

    assert first.pk == again.pk and _balance(member) == Decimal("10.00")
