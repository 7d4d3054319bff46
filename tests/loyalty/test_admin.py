"""The loyalty admin: rules editable, ledger read-only, store scoping, member helpers."""

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from loyalty.admin import adjust_points_action, member_points_panel
from loyalty.models import PointsAccount, PointsAdjustment
from members.models import Member
from sales.models import Sale
from tests.sales.test_sales import sell

from .conftest import line


@pytest.fixture
def two_sales(chain, rules, member, make_member):
    sell(member, chain["SH001"], "SH-1")
    other = make_member(tier=rules["normal"], store=chain["BJ001"])
    sell(other, chain["BJ001"], "BJ-1", lines=[line(amount="20.00")])
    return member, other


@pytest.mark.parametrize(
    ("user", "receipts"),
    [("head_office", {"SH-1", "BJ-1"}), ("sh001_manager", {"SH-1"}), ("bj001_manager", {"BJ-1"})],
)
def test_it_shows_each_user_the_sales_of_their_stores(client, request, two_sales, user, receipts):
    client.force_login(request.getfixturevalue(user))

    response = client.get(reverse("admin:sales_sale_changelist"))

    assert response.status_code == 200
    shown = {sale.receipt_no for sale in response.context["cl"].result_list}
    assert shown == receipts


def test_the_ledger_is_read_only_even_for_head_office(client, head_office, two_sales):
    client.force_login(head_office)
    entry_list = reverse("admin:loyalty_pointsentry_changelist")

    assert client.get(entry_list).status_code == 200
    assert client.get(reverse("admin:loyalty_pointsentry_add")).status_code == 403
    sale = Sale.objects.get(receipt_no="SH-1")
    page = client.get(reverse("admin:sales_sale_change", args=[sale.pk]))
    assert page.status_code == 200 and b"A1" in page.content  # lines shown inline


def test_every_rule_page_opens_in_chinese(client, head_office, rules):
    client.force_login(head_office)

    pages = ["members_tier", "loyalty_earningrule", "loyalty_redemptionrule"]
    pages += ["loyalty_expirypolicy", "loyalty_bonusrule", "loyalty_gift"]
    for name in pages:
        response = client.get(reverse(f"admin:{name}_add"))
        assert response.status_code == 200, name
    page = client.get(reverse("admin:loyalty_earningrule_add")).content.decode()
    assert "生效" in page or "有效" in page or "积分" in page


def test_the_member_panel_lists_entries_and_open_lots(two_sales):
    member, _other = two_sales

    html = member_points_panel(member)

    assert "+100" in html and "SH001" in html and "<table>" in html


def test_the_adjust_action_asks_then_adjusts_each_member(head_office, two_sales, check_ledgers):
    model_admin = admin.ModelAdmin(Member, admin.site)
    members = Member.objects.filter(pk__in=[m.pk for m in two_sales])
    factory = RequestFactory()

    ask = factory.post("/", {"action": "adjust_points_action"})
    ask.user = head_office
    form_page = adjust_points_action(model_admin, ask, members)
    assert form_page.status_code == 200 and "form" in form_page.context_data

    apply = factory.post(
        "/", {"apply": "1", "points": "50", "reason_category": "campaign", "reason": "店庆"}
    )
    apply.user = head_office
    apply.session = {}
    apply._messages = FallbackStorage(apply)
    assert adjust_points_action(model_admin, apply, members) is None

    balances = sorted(
        PointsAccount.objects.filter(member__in=members).values_list("balance", flat=True)
    )
    assert balances == [70, 150]
    assert PointsAdjustment.objects.filter(status="posted").count() == 2
    check_ledgers()


def test_store_managers_cannot_approve_adjustments(
    client, sh001_manager, head_office, member, settings
):
    from loyalty.services import adjust_points

    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 10
    adjustment = adjust_points(
        member=member,
        points=500,
        reason_category="other",
        reason="x",
        source="admin",
        actor=head_office,
        store=member.home_store,
    )
    client.force_login(sh001_manager)

    client.post(
        reverse("admin:loyalty_pointsadjustment_changelist"),
        {"action": "approve", "_selected_action": [adjustment.pk]},
    )

    adjustment.refresh_from_db()
    assert adjustment.status == "pending"
