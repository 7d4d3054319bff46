"""The member page works like a service counter: a button per operation, each opening a form
that shows the balances and the approval threshold, calls one service and comes back; the
member list exports as filtered and links to the import (issue 12)."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from core.models import Source
from countcards.models import CountCardPackage, MemberCountCard
from countcards.services import sell_count_card
from loyalty.models import PointsAccount
from members.models import Card, Member
from members.services import generate_card_batch, open_member
from wallet.models import RechargePlan, Wallet

pytestmark = pytest.mark.django_db

ALL_BUTTONS = {
    "adjust-points", "recharge", "sell-count-card", "renew-count-card", "replace-card", "freeze",
    "consent",
}  # fmt: skip


@pytest.fixture
def package(db):
    return CountCardPackage.objects.create(
        code="WASH10", name="洗车10次卡", visits=10, price=Decimal("300.00"), valid_days=30
    )


@pytest.fixture
def member(chain, head_office, package):
    batch = generate_card_batch(prefix="66", count=3, source=Source.ADMIN)
    cards = list(batch.cards.order_by("card_no"))
    member = open_member(
        phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN, name="王小明",
        initial_points=1520, initial_stored_value=Decimal("1350.00"), card_no=cards[0].card_no,
    )
    sell_count_card(member=member, package=package, store=chain["SH001"], source=Source.ADMIN)
    return member


def page_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def button_url(member, name):
    return reverse("admin:members_member_counter", args=[member.pk, name])


def buttons_on(client, member):
    response = client.get(page_url(member))
    return {button["name"] for button in response.context["counter_buttons"]}


def open_form(client, member, name):
    response = client.get(button_url(member, name))
    assert response.status_code == 200, response.content[:300]
    return response


def facts(response):
    return {str(label): str(value) for label, value in response.context["facts"]}


def test_head_office_has_every_button_on_the_member_page(client, head_office, member):
    client.force_login(head_office)

    assert buttons_on(client, member) == ALL_BUTTONS
    page = client.get(page_url(member)).content.decode()
    assert "调整积分" in page and "挂失补卡" in page and "冻结" in page


def test_a_cashier_gets_only_the_buttons_of_their_role(client, sh001_cashier, member):
    client.force_login(sh001_cashier)

    assert buttons_on(client, member) == set()  # a cashier opens cards and looks members up


def test_the_adjust_form_shows_the_balance_and_the_approval_threshold(
    client, head_office, member, settings
):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 1000
    client.force_login(head_office)

    shown = facts(open_form(client, member, "adjust-points"))

    assert shown["积分余额"] == "1,520"
    assert "1,000" in shown["审批门槛"]


def test_adjusting_from_the_button_posts_and_goes_back_to_the_member(
    client, head_office, member, chain, check_ledgers
):
    client.force_login(head_office)
    token = open_form(client, member, "adjust-points").context["form"].initial["token"]

    response = client.post(
        button_url(member, "adjust-points"),
        {"token": token, "store": chain["SH001"].pk, "points": "80",
         "reason_category": "complaint", "reason": "投诉补偿"},
    )

    assert response.status_code == 302 and response["Location"] == page_url(member)
    assert PointsAccount.objects.get(member=member).balance == 1600
    check_ledgers()


def test_the_recharge_form_shows_the_stored_value_and_recharges_once(
    client, head_office, member, chain, check_ledgers
):
    RechargePlan.objects.create(code="R500", name="充500送50", pay_amount=Decimal("500.00"),
                                bonus_amount=Decimal("50.00"))
    client.force_login(head_office)
    form_page = open_form(client, member, "recharge")
    assert "¥1,350.00" in facts(form_page)["储值"]
    data = {"token": form_page.context["form"].initial["token"], "store": chain["SH001"].pk,
            "amount": "500.00", "plan": RechargePlan.objects.get().pk, "reference": "R-1"}

    client.post(button_url(member, "recharge"), data)
    client.post(button_url(member, "recharge"), data)  # a double click

    assert Wallet.objects.get(member=member).balance == Decimal("1900.00")
    check_ledgers()


def test_selling_and_renewing_a_count_card_from_the_member_page(
    client, head_office, member, package, chain, check_ledgers
):
    client.force_login(head_office)
    sell = open_form(client, member, "sell-count-card")
    assert "洗车10次卡" in facts(sell)["次卡"]

    client.post(button_url(member, "sell-count-card"),
                {"token": sell.context["form"].initial["token"], "store": chain["SH001"].pk,
                 "package": package.pk, "pay_from_stored_value": "on"})
    assert MemberCountCard.objects.filter(member=member).count() == 2

    renew = open_form(client, member, "renew-count-card")
    card = MemberCountCard.objects.filter(member=member).order_by("pk").first()
    client.post(button_url(member, "renew-count-card"),
                {"token": renew.context["form"].initial["token"], "store": chain["SH001"].pk,
                 "card": card.pk})
    card.refresh_from_db()
    assert card.visits_left == 20
    check_ledgers()


def test_replacing_a_lost_card_keeps_every_balance(client, head_office, member):
    client.force_login(head_office)
    old = Card.objects.get(member=member, status=Card.Status.ACTIVE)
    new = Card.objects.filter(status=Card.Status.UNISSUED).first()
    form = open_form(client, member, "replace-card")
    assert facts(form)["当前卡号"] == old.card_no

    client.post(button_url(member, "replace-card"), {"new_card_no": new.card_no})

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == Card.Status.LOST and new.member == member
    assert PointsAccount.objects.get(member=member).balance == 1520


def test_a_card_that_cannot_be_used_is_refused_on_the_form(client, head_office, member):
    client.force_login(head_office)

    response = client.post(button_url(member, "replace-card"), {"new_card_no": "123"})

    assert response.status_code == 200 and response.context["form"].errors["new_card_no"]


def test_freezing_and_unfreezing_from_the_member_page(client, head_office, member):
    client.force_login(head_office)
    token = open_form(client, member, "freeze").context["form"].initial["token"]

    client.post(button_url(member, "freeze"), {"token": token})

    member.refresh_from_db()
    assert member.status == Member.Status.FROZEN
    assert "unfreeze" in buttons_on(client, member) and "freeze" not in buttons_on(client, member)


def test_another_stores_manager_cannot_open_the_members_buttons(
    client, bj001_manager, sh001_manager, member
):
    client.force_login(bj001_manager)
    assert client.get(button_url(member, "recharge")).status_code == 404

    client.force_login(sh001_manager)
    assert client.get(button_url(member, "recharge")).status_code == 200
    assert client.get(button_url(member, "adjust-points")).status_code == 403  # head office's


# --- the member list


def export_rows(response):
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)][1:]


def test_the_list_exports_what_it_shows_filtered_in_one_click(
    client, head_office, member, chain
):
    open_member(phone="13900001111", home_store=chain["BJ001"], source=Source.ADMIN, name="李雷")
    client.force_login(head_office)
    listing = client.get(reverse("admin:members_member_changelist"),
                         {"home_store": chain["SH001"].pk})
    export_url = listing.context["export_url"] + listing.context["cl"].get_query_string()
    assert export_url in listing.content.decode().replace("&amp;", "&")

    rows = export_rows(client.get(export_url))

    assert [row[1] for row in rows] == ["王小明"]
    assert len(export_rows(client.get(listing.context["export_url"]))) == 2


def test_the_export_keeps_the_managers_store_and_the_phone_mask(
    client, sh001_cashier, member, chain
):
    open_member(phone="13900001111", home_store=chain["BJ001"], source=Source.ADMIN, name="李雷")
    client.force_login(sh001_cashier)

    rows = export_rows(client.get(reverse("admin:members_member_export")))

    assert [(row[0], row[1]) for row in rows] == [("138****5678", "王小明")]


def test_the_member_list_links_to_the_import(client, head_office, sh001_cashier, member):
    client.force_login(head_office)
    page = client.get(reverse("admin:members_member_changelist")).content.decode()
    assert reverse("admin:members_importjob_add") in page and "导入会员" in page
