from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages.storage.fallback import FallbackStorage
from django.urls import reverse

from countcards import admin as countcards_admin
from countcards.models import CountCardEntry, MemberCountCard
from countcards.services import sell_count_card
from members.models import Member
from wallet import admin as wallet_admin
from wallet.models import Transfer, Wallet, WithdrawalRequest
from wallet.services import recharge_wallet


def _call(rf, action, user, members, data):
    request = rf.post("/", data)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    queryset = Member.objects.filter(pk__in=[m.pk for m in members])
    response = action(None, request, queryset)
    return response, [str(m) for m in request._messages]


def _form_token(rf, action, user, members):
    response, _messages = _call(rf, action, user, members, {})
    return response.context_data["form"].initial["token"]


@pytest.mark.django_db
def test_it_files_a_withdrawal_request_from_the_member_action(
    rf, member, plan_500, chain, sh001_manager
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    action = wallet_admin.withdrawal_request_action
    token = _form_token(rf, action, sh001_manager, [member])
    data = {"apply": "1", "token": token, "store": chain["SH001"].pk, "reason": ""}
    # no reason: the form comes back
    response, _m = _call(rf, action, sh001_manager, [member], data)
    assert response is not None and WithdrawalRequest.objects.count() == 0
    data["reason"] = "会员退卡"
    response, _m = _call(rf, action, sh001_manager, [member], data)
    assert response is None
    req = WithdrawalRequest.objects.get()
    assert (req.amount, req.requested_by) == (Decimal("500.00"), sh001_manager)
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")


@pytest.mark.django_db
def test_it_refuses_a_store_the_manager_does_not_run(rf, member, chain, sh001_manager):
    action = wallet_admin.recharge_action
    token = _form_token(rf, action, sh001_manager, [member])
    data = {"apply": "1", "token": token, "store": chain["BJ001"].pk, "amount": "100"}
    response, _m = _call(rf, action, sh001_manager, [member], data)
    assert response is not None  # the form again, with the store refused
    assert Wallet.objects.get(member=member).balance == 0


@pytest.mark.django_db
def test_it_transfers_from_the_member_action_and_shows_refusals(
    rf, member_factory, chain, head_office, check_ledgers
):
    giver, taker = member_factory(), member_factory()
    recharge_wallet(member=giver, amount="100", source="admin")
    action = wallet_admin.transfer_action
    token = _form_token(rf, action, head_office, [giver])
    data = {
        "apply": "1",
        "token": token,
        "store": chain["SH001"].pk,
        "to_member": taker.phone,
        "amount": "150",
        "reason": "家人",
    }
    _r, messages = _call(rf, action, head_office, [giver], data)
    assert messages and Transfer.objects.count() == 0  # not enough: shown, nothing moved
    data["amount"] = "40"
    _call(rf, action, head_office, [giver], data)
    _call(rf, action, head_office, [giver], data)  # resubmitted page
    assert Wallet.objects.get(member=taker).balance == Decimal("40.00")
    _r, messages = _call(rf, action, head_office, [giver, taker], data)
    assert messages  # only one member can send
    check_ledgers()


@pytest.mark.django_db
def test_it_uses_and_renews_count_cards_from_the_list(
    client, member, package_10, sh001_manager, bj001_manager, check_ledgers
):
    card = sell_count_card(member=member, package=package_10, source="admin")
    url = reverse("admin:countcards_membercountcard_changelist")
    use = {"action": "use_visit_selected", ACTION_CHECKBOX_NAME: [card.pk]}
    # BJ001's manager does not see SH001's member's card, so nothing happens
    client.force_login(bj001_manager)
    client.post(url, use)
    card.refresh_from_db()
    assert card.visits_left == 10
    client.force_login(sh001_manager)
    client.post(url, use)
    card.refresh_from_db()
    assert card.visits_left == 9
    assert CountCardEntry.objects.filter(kind="use").get().store.code == "SH001"
    client.post(url, {"action": "renew_selected", ACTION_CHECKBOX_NAME: [card.pk]})
    card.refresh_from_db()
    assert card.visits_left == 19
    assert MemberCountCard.objects.count() == 1
    check_ledgers()


@pytest.mark.django_db
def test_it_sells_a_count_card_from_the_member_action(
    rf, member, chain, package_10, head_office, check_ledgers
):
    recharge_wallet(member=member, amount="300", source="admin")
    action = countcards_admin.sell_count_card_action
    token = _form_token(rf, action, head_office, [member])
    data = {
        "apply": "1",
        "token": token,
        "store": chain["SH001"].pk,
        "package": package_10.pk,
        "pay_from_stored_value": "on",
    }
    _call(rf, action, head_office, [member], data)
    _call(rf, action, head_office, [member], data)
    assert MemberCountCard.objects.get().visits_left == 10
    assert Wallet.objects.get(member=member).balance == 0
    check_ledgers()
