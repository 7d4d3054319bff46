from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import Source
from loyalty.models import PointsAccount, PointsEntry
from wallet.exceptions import RechargePlanNotAvailable, WalletOperationRefused
from wallet.models import RechargePlan, Wallet
from wallet.services import active_recharge_plans, recharge_wallet


@pytest.mark.django_db
def test_it_recharges_principal_and_plan_bonus(member, plan_500, chain, check_ledgers):
    # given a 充500送50 plan; when a member pays 500 under it
    result = recharge_wallet(
        member=member, amount="500", plan=plan_500, store=chain["SH001"], source=Source.TILL
    )
    # then 500 is principal, 50 bonus, kept apart
    wallet = Wallet.objects.get(member=member)
    assert (wallet.principal, wallet.bonus) == (Decimal("500.00"), Decimal("50.00"))
    assert (result.amount, result.bonus, result.balance) == (
        Decimal("500.00"),
        Decimal("50.00"),
        Decimal("550.00"),
    )
    check_ledgers()


@pytest.mark.django_db
def test_it_accepts_a_plan_by_code_and_refuses_below_its_amount(member, plan_500):
    with pytest.raises(RechargePlanNotAvailable):
        recharge_wallet(member=member, amount="499.99", plan="R500", source=Source.ADMIN)
    result = recharge_wallet(member=member, amount="500.00", plan="R500", source=Source.ADMIN)
    assert result.bonus == Decimal("50.00")


@pytest.mark.django_db
def test_it_refuses_non_positive_amounts(member):
    for amount in ("0", "-1", "abc"):
        with pytest.raises(WalletOperationRefused):
            recharge_wallet(member=member, amount=amount, source=Source.ADMIN)


@pytest.mark.django_db
def test_it_replays_a_recharge_with_the_same_key_without_doubling(member, plan_500, check_ledgers):
    first = recharge_wallet(member=member, amount="500", plan=plan_500, source="till", key="k-1")
    again = recharge_wallet(member=member, amount="500", plan=plan_500, source="till", key="k-1")
    wallet = Wallet.objects.get(member=member)
    assert wallet.balance == Decimal("550.00")
    assert again.entry.pk == first.entry.pk and again.replayed
    assert again.balance == Decimal("550.00")
    check_ledgers()


@pytest.mark.django_db
def test_it_gives_plan_points_through_the_points_ledger_once(member, check_ledgers):
    plan = RechargePlan.objects.create(
        code="P1000", name="充1000送2000积分", pay_amount=Decimal("1000"), bonus_points=2000
    )
    recharge_wallet(member=member, amount="1000", plan=plan, source="till", key="p-1")
    recharge_wallet(member=member, amount="1000", plan=plan, source="till", key="p-1")
    assert PointsAccount.objects.get(member=member).balance == 2000
    assert PointsEntry.objects.filter(kind=PointsEntry.Kind.BONUS).count() == 1
    assert Wallet.objects.get(member=member).bonus == Decimal("0.00")
    check_ledgers()


@pytest.mark.django_db
def test_it_offers_plans_only_in_their_dates_and_stores(member, chain):
    now = timezone.now()
    everywhere = RechargePlan.objects.create(code="A", name="A", pay_amount=100)
    future = RechargePlan.objects.create(
        code="F", name="F", pay_amount=100, starts_at=now + timedelta(days=1)
    )
    ended = RechargePlan.objects.create(code="E", name="E", pay_amount=100, ends_at=now)
    inactive = RechargePlan.objects.create(code="I", name="I", pay_amount=100, is_active=False)
    beijing = RechargePlan.objects.create(code="B", name="B", pay_amount=100)
    beijing.stores.add(chain["BJ001"])

    assert set(active_recharge_plans(chain["SH001"], now)) == {everywhere}
    assert set(active_recharge_plans(chain["BJ001"], now)) == {everywhere, beijing}
    assert future in active_recharge_plans(chain["SH001"], now + timedelta(days=2))
    for plan in (future, ended, inactive, beijing):
        with pytest.raises(RechargePlanNotAvailable):
            recharge_wallet(
                member=member, amount=100, plan=plan, store=chain["SH001"], source="till", at=now
            )
    assert Wallet.objects.get(member=member).balance == 0


@pytest.mark.django_db(transaction=True)
def test_it_replays_concurrent_retries_of_one_recharge_once(member, plan_500, check_ledgers):
    from tests.threads import run_in_threads

    def recharge():
        return recharge_wallet(
            member=member, amount="500", plan=plan_500, source="till", key="retry-1"
        )

    results = run_in_threads(recharge, 6)
    assert all(not isinstance(r, Exception) for r in results), results
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")
    check_ledgers()


@pytest.mark.django_db
def test_it_needs_a_store_for_a_plan_limited_to_stores(member, chain):
    plan = RechargePlan.objects.create(code="B", name="B", pay_amount=100, bonus_amount=10)
    plan.stores.add(chain["BJ001"])
    with pytest.raises(RechargePlanNotAvailable):
        recharge_wallet(member=member, amount=100, plan=plan, source="admin")
    result = recharge_wallet(
        member=member, amount=100, plan=plan, store=chain["BJ001"], source="admin"
    )
    assert result.bonus == Decimal("10.00")
