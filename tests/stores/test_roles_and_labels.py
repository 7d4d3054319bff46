"""Head office sets chain-wide rules; a store's staff view them. Totals and titles say whose
stores they cover (issue 12)."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from core.models import Source
from countcards.models import CountCardPackage
from members.models import CardBatch
from members.services import open_member
from wallet.models import RechargePlan

pytestmark = pytest.mark.django_db

CHAIN_WIDE = [
    ("wallet", "rechargeplan"),
    ("countcards", "countcardpackage"),
    ("members", "cardbatch"),
    ("members", "tier"),
]


@pytest.mark.parametrize("app, model", CHAIN_WIDE)
@pytest.mark.parametrize("user", ["sh001_manager", "sh001_cashier"])
def test_store_staff_view_chain_wide_rules_but_cannot_add_or_change_them(
    client, request, app, model, user
):
    staff = request.getfixturevalue(user)
    client.force_login(staff)

    assert client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{app}_{model}_add")).status_code == 403
    assert not staff.has_perm(f"{app}.add_{model}")
    assert not staff.has_perm(f"{app}.change_{model}")


def test_a_manager_cannot_post_a_recharge_plan_package_or_card_batch(client, sh001_manager):
    client.force_login(sh001_manager)

    client.post(reverse("admin:wallet_rechargeplan_add"),
                {"code": "X", "name": "x", "pay_amount": "1.00", "bonus_amount": "0.00",
                 "bonus_points": "0"})
    client.post(reverse("admin:countcards_countcardpackage_add"),
                {"code": "X", "name": "x", "visits": "1", "price": "1.00", "valid_days": "1"})
    client.post(reverse("admin:members_cardbatch_add"),
                {"prefix": "77", "count": "5", "initial_points": "0",
                 "initial_stored_value": "0.00"})

    assert not RechargePlan.objects.exists()
    assert not CountCardPackage.objects.exists()
    assert not CardBatch.objects.exists()


def test_head_office_still_sets_them(client, head_office):
    client.force_login(head_office)

    client.post(reverse("admin:wallet_rechargeplan_add"),
                {"code": "R1", "name": "充100", "pay_amount": "100.00", "bonus_amount": "0.00",
                 "bonus_points": "0", "is_active": "on"})

    assert RechargePlan.objects.filter(code="R1").exists()


@pytest.fixture
def balances(chain):
    for code, phone, amount in (("SH001", "13800000001", "1234.50"),
                                ("BJ001", "13800000002", "99.00")):
        open_member(phone=phone, home_store=chain[code], source=Source.ADMIN,
                    initial_stored_value=Decimal(amount))


def test_the_liability_total_is_the_chains_for_head_office_only(
    client, head_office, sh001_manager, balances
):
    url = reverse("admin:wallet_liability")
    client.force_login(head_office)
    page = client.get(url).content.decode()
    assert "全连锁合计" in page and "1,333.50" in page

    client.force_login(sh001_manager)
    page = client.get(url).content.decode()
    assert "全连锁合计" not in page and "本人门店合计" in page and "1,234.50" in page
    sheet = load_workbook(io.BytesIO(client.get(url + "?format=xlsx").content)).active
    last = [cell.value for cell in list(sheet.iter_rows())[-1]]
    assert last[0] == "本人门店合计"


def test_the_console_title_says_whose_stores_it_shows(
    client, head_office, sh001_manager, sh001_cashier
):
    # Who may read reports lands on the dashboard, titled for whose stores it shows.
    client.force_login(head_office)
    assert "<h1>总部看板</h1>" in client.get(reverse("admin:index")).content.decode()

    client.force_login(sh001_manager)
    page = client.get(reverse("admin:index")).content.decode()
    title = page.split("<h1>")[1].split("</h1>")[0]
    assert title.startswith("门店看板：") and "上海徐汇店" in title and "总部" not in title

    # A cashier (no reports) gets the app list, titled the same way.
    client.force_login(sh001_cashier)
    page = client.get(reverse("admin:index")).content.decode()
    assert "总部控制台" not in page and "门店控制台" in page and "上海徐汇店" in page
