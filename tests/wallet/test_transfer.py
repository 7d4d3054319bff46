from decimal import Decimal

import pytest

from members.models import Member
from tests.threads import run_in_threads
from wallet.exceptions import InsufficientStoredValue, WalletOperationRefused
from wallet.models import Transfer, Wallet, WalletEntry
from wallet.services import adjust_stored_value, recharge_wallet, transfer_stored_value


def _parts(member):
    wallet = Wallet.objects.get(member=member)
    return wallet.principal, wallet.bonus


@pytest.mark.django_db
def test_it_moves_principal_and_bonus_with_both_sides_in_the_ledger(
    member_factory, plan_500, check_ledgers
):
    giver, taker = member_factory(), member_factory()
    recharge_wallet(member=giver, amount="500", plan=plan_500, source="admin")
    transfer = transfer_stored_value(
        from_member=giver, to_member=taker, amount="110", source="admin", reason="家人", key="t1"
    )
    assert _parts(giver) == (Decimal("400.00"), Decimal("40.00"))
    assert _parts(taker) == (Decimal("100.00"), Decimal("10.00"))
    assert transfer.out_entry.kind == WalletEntry.Kind.TRANSFER_OUT
    assert transfer.in_entry.kind == WalletEntry.Kind.TRANSFER_IN
    # a retry with the same key moves nothing more
    again = transfer_stored_value(
        from_member=giver, to_member=taker, amount="110", source="admin", key="t1"
    )
    assert again.pk == transfer.pk
    assert _parts(taker) == (Decimal("100.00"), Decimal("10.00"))
    check_ledgers()


@pytest.mark.django_db
def test_it_refuses_overdraw_self_transfer_and_closed_cards(member_factory, check_ledgers):
    giver, taker = member_factory(), member_factory(status=Member.Status.CLOSED)
    other = member_factory()
    recharge_wallet(member=giver, amount="100", source="admin")
    with pytest.raises(InsufficientStoredValue):
        transfer_stored_value(from_member=giver, to_member=other, amount="100.01", source="admin")
    with pytest.raises(WalletOperationRefused):
        transfer_stored_value(from_member=giver, to_member=giver, amount="1", source="admin")
    with pytest.raises(WalletOperationRefused):
        transfer_stored_value(from_member=giver, to_member=taker, amount="1", source="admin")
    assert _parts(giver) == (Decimal("100.00"), Decimal("0.00"))
    assert Transfer.objects.count() == 0
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_it_rolls_back_both_sides_when_the_receiving_side_fails(
    member_factory, check_ledgers, settings
):
    settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal("1e12")  # set up at once
    # given a receiver whose principal would pass what the column holds (numeric(12,2)): the
    # writer refuses the receiving side after the giving side was written
    giver, taker = member_factory(), member_factory()
    recharge_wallet(member=giver, amount="100", source="admin")
    adjust_stored_value(member=taker, principal="9999999999.00", reason="test", source="admin")
    # when the transfer's second write is refused
    with pytest.raises(WalletOperationRefused):
        transfer_stored_value(from_member=giver, to_member=taker, amount="100", source="admin")
    # then the first side is rolled back too
    assert _parts(giver) == (Decimal("100.00"), Decimal("0.00"))
    assert not WalletEntry.objects.filter(kind=WalletEntry.Kind.TRANSFER_OUT).exists()
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_it_does_not_deadlock_on_opposite_transfers(member_factory, check_ledgers):
    a, b = member_factory(), member_factory()
    recharge_wallet(member=a, amount="1000", source="admin")
    recharge_wallet(member=b, amount="1000", source="admin")
    counter = iter(range(100))

    def work():
        n = next(counter)
        src, dst = (a, b) if n % 2 else (b, a)
        for _ in range(10):
            transfer_stored_value(from_member=src, to_member=dst, amount="1", source="admin")

    results = run_in_threads(work, 6)
    assert all(r is None for r in results), results
    assert _parts(a)[0] + _parts(b)[0] == Decimal("2000.00")
    assert Transfer.objects.count() == 60
    check_ledgers()


@pytest.mark.django_db
def test_it_requires_a_reason_to_adjust(member):
    from wallet.exceptions import ReasonRequired

    with pytest.raises(ReasonRequired):
        adjust_stored_value(member=member, principal="10", reason="", source="admin")
    adjust_stored_value(member=member, principal="10", reason="补录", source="admin")
    with pytest.raises(InsufficientStoredValue):
        adjust_stored_value(member=member, principal="-10.01", reason="纠错", source="admin")
