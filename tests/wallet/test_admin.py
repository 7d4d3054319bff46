from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse
from openpyxl import load_workbook

from countcards.admin import count_cards_panel
from countcards.services import sell_count_card
from stores.roles import HEAD_OFFICE
from tests import factories
from wallet.admin import wallet_panel
from wallet.models import Wallet, WalletEntry, WithdrawalRequest
from wallet.services import pay_with_stored_value, recharge_wallet, request_withdrawal


@pytest.fixture
def two_stores_of_money(member_factory, chain, plan_500):
    sh = member_factory(chain["SH001"])
    bj = member_factory(chain["BJ001"])
    recharge_wallet(member=sh, amount="500", plan=plan_500, store=chain["SH001"], source="till")
    recharge_wallet(member=bj, amount="200", store=chain["BJ001"], source="till")
    pay_with_stored_value(member=sh, amount="110", store=chain["SH001"], source="till")
    return sh, bj


@pytest.mark.django_db
def test_it_shows_liability_per_store_scoped_by_user(
    client, two_stores_of_money, head_office, sh001_manager, bj001_manager
):
    url = reverse("admin:wallet_liability")
    client.force_login(head_office)
    response = client.get(url)
    assert response.status_code == 200
    rows, total = response.context["rows"], response.context["total"]
    assert [r["store"].code for r in rows] == ["BJ001", "SH001"]
    assert (total["principal"], total["bonus"]) == (Decimal("600.00"), Decimal("40.00"))

    client.force_login(sh001_manager)
    rows = client.get(url).context["rows"]
    assert [(r["store"].code, r["total"]) for r in rows] == [("SH001", Decimal("440.00"))]

    client.force_login(bj001_manager)
    rows = client.get(url).context["rows"]
    assert [(r["store"].code, r["total"]) for r in rows] == [("BJ001", Decimal("200.00"))]


@pytest.mark.django_db
def test_it_exports_liability_and_flows_to_excel(client, two_stores_of_money, sh001_manager):
    client.force_login(sh001_manager)
    response = client.get(reverse("admin:wallet_liability") + "?format=xlsx")
    sheet = load_workbook(BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[1][0].startswith("SH001") and values[1][-1] == 440
    assert len(values) == 3  # header, SH001, chain total: no other store leaks

    response = client.get(reverse("admin:wallet_flows") + "?format=xlsx")
    values = list(load_workbook(BytesIO(response.content)).active.values)
    assert len(values) == 2
    _day, store, recharged, bonus, spent, *_rest = values[1]
    assert store.startswith("SH001")
    assert (recharged, bonus, spent) == (500, 50, 110)


@pytest.mark.django_db
def test_it_scopes_the_ledger_list_by_store(
    client, two_stores_of_money, head_office, sh001_manager, bj001_manager
):
    url = reverse("admin:wallet_walletentry_changelist")
    for user, expected in ((head_office, 3), (sh001_manager, 2), (bj001_manager, 1)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == expected


@pytest.mark.django_db
def test_it_keeps_the_ledger_read_only(client, two_stores_of_money, head_office):
    client.force_login(head_office)
    entry = WalletEntry.objects.first()
    assert client.get(reverse("admin:wallet_walletentry_add")).status_code == 403
    response = client.post(reverse("admin:wallet_walletentry_delete", args=[entry.pk]))
    assert response.status_code == 403
    assert WalletEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_it_approves_from_the_queue_only_as_another_head_office_user(
    client, member, plan_500, head_office, sh001_manager, check_ledgers
):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    req = request_withdrawal(member=member, reason="退卡", source="admin", actor=head_office)
    url = reverse("admin:wallet_withdrawalrequest_changelist")
    post = {"action": "approve_selected", ACTION_CHECKBOX_NAME: [req.pk]}
    # the store manager has no approve action at all
    client.force_login(sh001_manager)
    client.post(url, post)
    # the requester is refused by the service, shown as a message
    client.force_login(head_office)
    response = client.post(url, post, follow=True)
    assert any("approve" in str(m) or "批" in str(m) for m in response.context["messages"])
    req.refresh_from_db()
    assert req.status == WithdrawalRequest.Status.PENDING
    # another head-office user approves
    other = factories.UserFactory(username="head_office_2", is_staff=True)
    other.groups.add(Group.objects.get(name=HEAD_OFFICE))
    client.force_login(other)
    client.post(url, post)
    req.refresh_from_db()
    assert req.status == WithdrawalRequest.Status.APPROVED
    assert Wallet.objects.get(member=member).balance == 0
    check_ledgers()


@pytest.mark.django_db
def test_it_renders_the_member_panels(member, plan_500, package_10, django_assert_num_queries):
    recharge_wallet(member=member, amount="500", plan=plan_500, source="admin")
    sell_count_card(member=member, package=package_10, source="admin")
    with django_assert_num_queries(2):
        html = wallet_panel(member)
    assert "500.00" in html and "50.00" in html
    with django_assert_num_queries(2):
        html = count_cards_panel(member)
    assert "洗车10次卡" in html


@pytest.mark.django_db
def test_it_recharges_from_the_action_once_per_form(rf, member, chain, plan_500, head_office):
    from django.contrib.messages.storage.fallback import FallbackStorage

    from members.models import Member
    from wallet.admin import recharge_action

    def call(data):
        request = rf.post("/", data)
        request.user = head_office
        request.session = {}
        request._messages = FallbackStorage(request)
        return recharge_action(None, request, Member.objects.filter(pk=member.pk))

    # the first call shows the form, with a fresh token
    response = call({})
    token = response.context_data["form"].initial["token"]
    data = {
        "apply": "1",
        "token": token,
        "store": chain["SH001"].pk,
        "amount": "500",
        "plan": plan_500.pk,
        "reference": "",
    }
    assert call(data) is None
    assert call(data) is None  # a double submit of the same form
    assert Wallet.objects.get(member=member).balance == Decimal("550.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "rechargeplan",
        "countcardpackage",
        "withdrawalrequest",
        "walletentry",
        "wallet",
        "transfer",
        "membercountcard",
        "countcardentry",
    ],
)
def test_it_opens_every_wallet_page_for_the_three_users(
    client, name, two_stores_of_money, head_office, sh001_manager, bj001_manager
):
    for user in (head_office, sh001_manager, bj001_manager):
        client.force_login(user)
        app = "countcards" if "countcard" in name else "wallet"
        response = client.get(reverse(f"admin:{app}_{name}_changelist"))
        assert response.status_code == 200, (name, user)
    client.force_login(sh001_manager)
    response = client.get(reverse("admin:wallet_flows") + "?date_from=2000-01-01")
    assert response.status_code == 200
    assert [r["store"].code for r in response.context["rows"]] == ["SH001"]


@pytest.mark.django_db
def test_it_refuses_reports_to_users_without_the_view_permission(client, chain):
    user = factories.UserFactory(username="nobody", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:wallet_liability")).status_code == 403
