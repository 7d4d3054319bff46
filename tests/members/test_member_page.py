"""The member page brings points, stored value and count cards together, and the member list
offers the points and stored-value actions of the other areas."""

from decimal import Decimal

from django.urls import reverse

from core.models import Source
from loyalty.models import BonusRule, PointsEntry
from members.services import open_member


def _open(chain, **extra):
    return open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN,
                       name="王小明", initial_points=320, initial_stored_value=Decimal("88.00"),
                       **extra)


def test_it_shows_points_stored_value_and_count_cards_on_the_member_page(
    client, head_office, chain, check_ledgers
):
    member = _open(chain)
    client.force_login(head_office)

    response = client.get(reverse("admin:members_member_change", args=[member.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "320" in html and "88.00" in html
    assert "points_history" in html and "stored_value_history" in html
    check_ledgers()


def test_it_offers_points_and_stored_value_actions_to_head_office(client, head_office, chain):
    _open(chain)
    client.force_login(head_office)

    response = client.get(reverse("admin:members_member_changelist"))

    actions = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert {"adjust_points_action", "recharge_action", "transfer_action",
            "withdrawal_request_action", "sell_count_card_action"} <= actions


def test_it_hides_the_points_adjustment_from_a_cashier(client, sh001_cashier, chain):
    _open(chain)
    client.force_login(sh001_cashier)

    response = client.get(reverse("admin:members_member_changelist"))

    actions = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert "adjust_points_action" not in actions


def test_it_pays_the_registration_bonus_when_a_card_is_opened(chain, check_ledgers):
    BonusRule.objects.create(kind=BonusRule.Kind.REGISTRATION, name="开卡礼", points=50)

    member = _open(chain)

    member.points_account.refresh_from_db()
    assert member.points_account.balance == 370
    assert PointsEntry.objects.filter(account__member=member, kind=PointsEntry.Kind.BONUS,
                                      points=50).count() == 1
    check_ledgers()
