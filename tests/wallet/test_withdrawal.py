from decimal import Decimal

import pytest

from tests import factories
from tests.threads import run_in_threads
from wallet.exceptions import (
    ApprovalNotAllowed,
    InsufficientStoredValue,
    ReasonRequired,
    WithdrawalNotPending,
)
from wallet.models import Wallet, WalletEntry, WithdrawalRequest
from wallet.services import (
    approve_withdrawal,
    pay_with_stored_value,
    recharge_wallet,
    reject_withdrawal,
    request_withdrawal,
)


@pytest.fixture
def second_head_office(head_office):
    from django.contrib.auth.models import Group

    from stores.roles import HEAD_OFFICE

    user = factories.UserFactory(username="head_office_2", is_staff=True)
    user.groups.add(Group.objects.get(name=HEAD_OFFICE))
    return user


@pytest.mark.django_db
def test_it_pays_out_principal_only_and_forfeits_the_bonus(
    member, plan_500, head_office, second_head_office, check_ledgers
):
    # given 500 principal + 50 bonus
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    # when all principal is requested and another head-office user approves
    req = request_withdrawal(member=member, reason="搬家", source="admin", actor=head_office)
    assert req.amount == Decimal("500.00")
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")  # nothing moved yet
    req = approve_withdrawal(request=req, actor=second_head_office, source="admin")
    # then 500 is paid out, the 50 bonus forfeited as its own entry, the wallet is empty
    assert req.status == WithdrawalRequest.Status.APPROVED
    assert (req.entry.principal, req.entry.bonus) == (Decimal("-500.00"), Decimal("0.00"))
    assert req.forfeit_entry.kind == WalletEntry.Kind.BONUS_FORFEIT
    assert req.forfeit_entry.bonus == Decimal("-50.00")
    wallet = Wallet.objects.get(member=member)
    assert (wallet.principal, wallet.bonus) == (Decimal("0.00"), Decimal("0.00"))
    check_ledgers()


@pytest.mark.django_db
def test_it_forfeits_bonus_in_proportion_on_a_partial_withdrawal(
    member, plan_500, head_office, second_head_office, check_ledgers
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    pay_with_stored_value(member=member, amount="110", source="till")  # 400 + 40 left
    req = request_withdrawal(
        member=member, amount="100", reason="部分提现", source="admin", actor=head_office
    )
    approve_withdrawal(request=req, actor=second_head_office, source="admin")
    wallet = Wallet.objects.get(member=member)
    assert (wallet.principal, wallet.bonus) == (Decimal("300.00"), Decimal("30.00"))
    check_ledgers()


@pytest.mark.django_db
def test_it_refuses_more_than_the_principal_and_requires_a_reason(member, plan_500, head_office):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    with pytest.raises(InsufficientStoredValue):
        request_withdrawal(member=member, amount="500.01", reason="x", source="admin")
    with pytest.raises(ReasonRequired):
        request_withdrawal(member=member, reason="  ", source="admin")


@pytest.mark.django_db
def test_it_only_lets_a_different_user_with_the_permission_approve(
    member, plan_500, head_office, second_head_office, sh001_manager, check_ledgers
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    req = request_withdrawal(member=member, reason="退卡", source="admin", actor=head_office)
    # the requester cannot approve their own request
    with pytest.raises(ApprovalNotAllowed):
        approve_withdrawal(request=req, actor=head_office, source="admin")
    # a store manager lacks the permission
    with pytest.raises(ApprovalNotAllowed):
        approve_withdrawal(request=req, actor=sh001_manager, source="admin")
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")
    approve_withdrawal(request=req, actor=second_head_office, source="admin")
    # and a decided request cannot be approved or rejected again
    with pytest.raises(WithdrawalNotPending):
        approve_withdrawal(request=req, actor=second_head_office, source="admin")
    with pytest.raises(WithdrawalNotPending):
        reject_withdrawal(request=req, actor=second_head_office, source="admin")
    check_ledgers()


@pytest.mark.django_db
def test_it_rejects_a_request_without_moving_money(
    member, plan_500, head_office, second_head_office
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    req = request_withdrawal(member=member, reason="x", source="admin", actor=head_office)
    reject_withdrawal(request=req, actor=second_head_office, source="admin", note="no")
    req.refresh_from_db()
    assert req.status == WithdrawalRequest.Status.REJECTED
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")


@pytest.mark.django_db(transaction=True)
def test_it_pays_a_withdrawal_once_when_two_approvers_click_at_once(
    member, plan_500, head_office, second_head_office, check_ledgers
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    req = request_withdrawal(member=member, reason="x", amount="200", source="admin")
    results = run_in_threads(
        lambda: approve_withdrawal(request=req, actor=second_head_office, source="admin"), 4
    )
    assert sum(isinstance(r, WithdrawalRequest) for r in results) == 1, results
    assert sum(isinstance(r, WithdrawalNotPending) for r in results) == 3, results
    assert Wallet.objects.get(member=member).principal == Decimal("300.00")
    check_ledgers()
