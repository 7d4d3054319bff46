import pytest
from django.core.management.base import CommandError

from countcards.models import MemberCountCard
from countcards.services import sell_count_card
from wallet.models import Wallet
from wallet.services import recharge_wallet


@pytest.mark.django_db
def test_it_flags_a_wallet_changed_outside_the_ledger(member, check_ledgers):
    recharge_wallet(member=member, amount="57.27", source="admin")
    check_ledgers()
    Wallet.objects.filter(member=member).update(bonus="0.01")
    with pytest.raises(CommandError):
        check_ledgers()


@pytest.mark.django_db
def test_it_flags_a_count_card_changed_outside_the_ledger(member, package_10, check_ledgers):
    card = sell_count_card(member=member, package=package_10, source="admin")
    check_ledgers()
    MemberCountCard.objects.filter(pk=card.pk).update(visits_left=11)
    with pytest.raises(CommandError):
        check_ledgers()
