from decimal import Decimal

import pytest

from tests.threads import run_in_threads
from wallet.exceptions import InsufficientStoredValue, WalletOperationRefused
from wallet.models import Wallet, WalletEntry
from wallet.services import pay_with_stored_value, recharge_wallet, refund_stored_value


def _wallet(member):
    return Wallet.objects.get(member=member)


@pytest.mark.django_db
def test_it_draws_principal_and_bonus_in_proportion(member, plan_500, check_ledgers):
    # given 500 principal + 50 bonus (10:1)
    recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    # when paying 110
    entry = pay_with_stored_value(member=member, amount="110", source="till", reference="R1")
    # then 100 principal and 10 bonus leave
    assert (entry.principal, entry.bonus) == (Decimal("-100.00"), Decimal("-10.00"))
    check_ledgers()


@pytest.mark.django_db
def test_it_refuses_to_overdraw_and_allows_paying_exactly_the_balance(member, plan_500):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    with pytest.raises(InsufficientStoredValue):
        pay_with_stored_value(member=member, amount="550.01", source="till")
    pay_with_stored_value(member=member, amount="550.00", source="till")
    wallet = _wallet(member)
    assert (wallet.principal, wallet.bonus) == (Decimal("0.00"), Decimal("0.00"))


@pytest.mark.django_db
def test_it_refuses_payment_from_a_member_without_a_wallet(member_factory):
    member = member_factory()
    Wallet.objects.filter(member=member).delete()
    with pytest.raises(InsufficientStoredValue):
        pay_with_stored_value(member=member, amount="1", source="till")


@pytest.mark.django_db
def test_it_replays_a_payment_with_the_same_key(member, plan_500, check_ledgers):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    first = pay_with_stored_value(member=member, amount="55", source="till", key="pay-1")
    again = pay_with_stored_value(member=member, amount="55", source="till", key="pay-1")
    assert first.pk == again.pk
    assert _wallet(member).balance == Decimal("495.00")
    check_ledgers()


@pytest.mark.django_db
def test_it_refunds_part_of_a_mixed_payment_in_the_same_proportion(member, plan_500, check_ledgers):
    # given a payment of 110 that drew 100 principal + 10 bonus
    recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    payment = pay_with_stored_value(member=member, amount="110", source="till", reference="R1")
    # when 33 is refunded, then 30 principal + 3 bonus come back
    first = refund_stored_value(payment=payment, amount="33", source="till", reference="RF1")
    assert (first.principal, first.bonus) == (Decimal("30.00"), Decimal("3.00"))
    assert first.reverses_id == payment.pk
    # when the rest (77) is refunded, exactly what is left of each part comes back
    rest = refund_stored_value(payment=payment, amount="77", source="till", reference="RF2")
    assert (rest.principal, rest.bonus) == (Decimal("70.00"), Decimal("7.00"))
    wallet = _wallet(member)
    assert (wallet.principal, wallet.bonus) == (Decimal("500.00"), Decimal("50.00"))
    # and nothing more can be refunded
    with pytest.raises(WalletOperationRefused):
        refund_stored_value(payment=payment, amount="0.01", source="till", reference="RF3")
    check_ledgers()


@pytest.mark.django_db
def test_it_never_leaks_cents_over_many_small_refunds(member, check_ledgers):
    # given an awkward proportion: 100 principal, 33.33 bonus
    recharge_wallet(member=member, amount="100", source="admin")
    from wallet.services import adjust_stored_value

    adjust_stored_value(member=member, bonus="33.33", reason="migration", source="admin")
    payment = pay_with_stored_value(member=member, amount="13.33", source="till")
    for i in range(10):
        refund_stored_value(payment=payment, amount="1.00", source="till", reference=f"r{i}")
    last = refund_stored_value(payment=payment, amount="3.33", source="till", reference="last")
    assert last.amount == Decimal("3.33")
    wallet = _wallet(member)
    assert (wallet.principal, wallet.bonus) == (Decimal("100.00"), Decimal("33.33"))
    check_ledgers()


@pytest.mark.django_db
def test_it_replays_a_refund_that_took_the_rest_of_the_payment(member, plan_500, check_ledgers):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    payment = pay_with_stored_value(member=member, amount="110", source="till")
    first = refund_stored_value(payment=payment, amount="110", source="till", reference="RF1")
    again = refund_stored_value(payment=payment, amount="110", source="till", reference="RF1")
    assert first.pk == again.pk
    assert _wallet(member).balance == Decimal("550.00")
    check_ledgers()


@pytest.mark.django_db
def test_it_refuses_a_refund_without_reference_or_of_a_non_payment(member, plan_500):
    result = recharge_wallet(member=member, amount="500", plan=plan_500, source="till")
    payment = pay_with_stored_value(member=member, amount="10", source="till")
    with pytest.raises(WalletOperationRefused):
        refund_stored_value(payment=payment, amount="1", source="till")
    with pytest.raises(WalletOperationRefused):
        refund_stored_value(payment=result.entry, amount="1", source="till", reference="x")


@pytest.mark.django_db(transaction=True)
def test_it_never_overdraws_under_concurrent_payments(member, check_ledgers):
    # given 100.00 in the wallet; when 8 tills each pay 30 at once
    recharge_wallet(member=member, amount="100", source="admin")
    results = run_in_threads(
        lambda: pay_with_stored_value(member=member, amount="30", source="till"), 8
    )
    # then exactly three succeed, the rest are refused, and 10.00 is left
    paid = [r for r in results if isinstance(r, WalletEntry)]
    refused = [r for r in results if isinstance(r, InsufficientStoredValue)]
    assert (len(paid), len(refused)) == (3, 5), results
    assert _wallet(member).balance == Decimal("10.00")
    check_ledgers()
