from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from countcards.exceptions import CountCardNotUsable
from countcards.models import CountCardEntry, MemberCountCard
from countcards.services import (
    expire_count_cards,
    renew_count_card,
    sell_count_card,
    use_count_card_visit,
)
from tests.threads import run_in_threads
from wallet.exceptions import InsufficientStoredValue
from wallet.models import Wallet
from wallet.services import recharge_wallet


@pytest.mark.django_db
def test_it_uses_a_card_up_and_renews_it(member, package_10, chain, check_ledgers):
    # given a 10-visit card
    card = sell_count_card(member=member, package=package_10, source="admin", store=chain["SH001"])
    assert card.visits_left == 10
    # when all ten visits are used, the eleventh is refused
    for i in range(10):
        use_count_card_visit(card=card, source="till", key=f"use-{i}")
    card.refresh_from_db()
    assert card.visits_left == 0
    with pytest.raises(CountCardNotUsable):
        use_count_card_visit(card=card, source="till")
    # when it is renewed (续次), it has the package's visits again and a later expiry
    old_expiry = card.expires_at
    renew_count_card(card=card, source="admin")
    card.refresh_from_db()
    assert card.visits_left == 10
    assert card.expires_at == old_expiry + timedelta(days=365)
    use_count_card_visit(card=card, source="till")
    card.refresh_from_db()
    assert card.visits_left == 9
    check_ledgers()


@pytest.mark.django_db
def test_it_replays_a_visit_with_the_same_key(member, package_10, check_ledgers):
    card = sell_count_card(member=member, package=package_10, source="till", key="sale-1")
    assert sell_count_card(member=member, package=package_10, source="till", key="sale-1") == card
    use_count_card_visit(card=card, source="till", key="v1")
    use_count_card_visit(card=card, source="till", key="v1")
    card.refresh_from_db()
    assert card.visits_left == 9
    assert MemberCountCard.objects.count() == 1
    check_ledgers()


@pytest.mark.django_db
def test_it_pays_for_a_card_from_stored_value_or_refuses_the_whole_sale(
    member, package_10, check_ledgers
):
    with pytest.raises(InsufficientStoredValue):
        sell_count_card(
            member=member, package=package_10, source="till", pay_from_stored_value=True
        )
    assert MemberCountCard.objects.count() == 0
    recharge_wallet(member=member, amount="300", source="admin")
    card = sell_count_card(
        member=member, package=package_10, source="till", pay_from_stored_value=True
    )
    sale = card.entries.get()
    assert sale.wallet_entry.amount == Decimal("-300.00")
    assert Wallet.objects.get(member=member).balance == 0
    check_ledgers()


@pytest.mark.django_db
def test_it_refuses_an_expired_card_and_expires_unused_visits_once(
    member, package_10, check_ledgers
):
    sold_at = timezone.now() - timedelta(days=400)
    card = sell_count_card(member=member, package=package_10, source="admin", at=sold_at)
    use_count_card_visit(card=card, source="till", at=sold_at + timedelta(days=1))
    with pytest.raises(CountCardNotUsable):
        use_count_card_visit(card=card, source="till")
    # the expiry job zeroes what is left, and a rerun adds nothing
    assert expire_count_cards(source="task") == 1
    assert expire_count_cards(source="task") == 0
    card.refresh_from_db()
    assert card.visits_left == 0
    assert card.entries.filter(kind=CountCardEntry.Kind.EXPIRE).get().visits == -9
    # a renewal after expiry starts from today, not from the old expiry
    before = timezone.now()
    renew_count_card(card=card, source="admin", visits=5, extend_days=30)
    card.refresh_from_db()
    assert card.visits_left == 5
    assert card.expires_at >= before + timedelta(days=30)
    check_ledgers()


@pytest.mark.django_db
def test_it_expires_from_the_command(member, package_10, check_ledgers):
    sell_count_card(
        member=member, package=package_10, source="admin", at=timezone.now() - timedelta(days=366)
    )
    call_command("expire_count_cards", verbosity=0)
    assert MemberCountCard.objects.get().visits_left == 0
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_it_never_uses_more_visits_than_left_under_concurrency(member, package_10, check_ledgers):
    card = sell_count_card(member=member, package=package_10, source="admin")
    results = run_in_threads(lambda: use_count_card_visit(card=card, source="till"), 14)
    used = [r for r in results if isinstance(r, CountCardEntry)]
    refused = [r for r in results if isinstance(r, CountCardNotUsable)]
    assert (len(used), len(refused)) == (10, 4), results
    card.refresh_from_db()
    assert card.visits_left == 0
    check_ledgers()


@pytest.mark.django_db
def test_it_expires_from_the_task(member, package_10, check_ledgers):
    from countcards.tasks import expire_count_cards_task

    sell_count_card(
        member=member, package=package_10, source="admin", at=timezone.now() - timedelta(days=366)
    )
    assert expire_count_cards_task.apply().get() == 1
    check_ledgers()
