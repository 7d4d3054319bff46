import pytest

from countcards import demo as countcards_demo
from countcards.models import CountCardEntry, CountCardPackage
from wallet import demo as wallet_demo
from wallet.models import RechargePlan, WalletEntry


@pytest.mark.django_db
def test_it_seeds_plans_packages_and_history_once(member_factory, chain, check_ledgers):
    for _ in range(8):
        member_factory()
    ctx = {"stores": chain, "admin": None, "members": 8}
    for _ in range(2):
        for module in (wallet_demo, countcards_demo):
            module.seed_rules(ctx)
        for module in (wallet_demo, countcards_demo):
            module.seed_history(ctx)
    assert set(RechargePlan.objects.values_list("name", flat=True)) >= {"充500送50", "充1000送120"}
    assert CountCardPackage.objects.count() == 2
    # 4 members recharge and pay, 2 of them buy a card paid from stored value
    assert WalletEntry.objects.count() == 4 + 4 + 2
    assert CountCardEntry.objects.count() == 2
    check_ledgers()
