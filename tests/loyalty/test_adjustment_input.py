"""Points adjustments typed by hand: one clear Chinese message for every refusal, never a 500
or a bare 403, and nothing posted (issue 12)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import Source
from loyalty.exceptions import InvalidAdjustment
from loyalty.models import PointsAccount, PointsAdjustment, PointsEntry
from loyalty.services import adjust_points, grant_opening_points
from members.services import open_member

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
ADD = reverse("admin:loyalty_pointsadjustment_add")
LIST = reverse("admin:members_member_changelist")


@pytest.fixture
def member(chain):
    member = open_member(
        phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN, name="王小明"
    )
    grant_opening_points(member=member, points=120, source=Source.ADMIN)
    return member


def balance(member):
    return PointsAccount.objects.get(member=member).balance


def counter_url(member):
    return reverse("admin:members_member_counter", args=[member.pk, "adjust-points"])


def messages_of(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def add_form(member, points, **extra):
    return {
        "member": member.pk,
        "points": points,
        "reason_category": "correction",
        "reason": "补录",
        "store": "",
        **extra,
    }


def list_action(member, points):
    return {
        "action": "adjust_points_action",
        "_selected_action": [member.pk],
        "apply": "1",
        "points": points,
        "reason_category": "correction",
        "reason": "补录",
    }


# --- numbers past any column or the limit


@pytest.mark.parametrize("points", [HUGE, "-" + HUGE, "1000001", "-1000001", "1e3", "abc"])
def test_the_add_page_refuses_out_of_range_points_on_the_form(
    client, head_office, member, points
):
    client.force_login(head_office)

    response = client.post(ADD, add_form(member, points))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["points"]
    assert not PointsAdjustment.objects.exists() and balance(member) == 120


@pytest.mark.parametrize("points", [HUGE, "1000001"])
def test_the_list_action_refuses_out_of_range_points_on_its_form(
    client, head_office, member, points
):
    client.force_login(head_office)

    response = client.post(LIST, list_action(member, points))

    assert response.status_code == 200  # the intermediate form again, with the error
    assert response.context["form"].errors["points"]
    assert not PointsAdjustment.objects.exists()


def test_the_limit_is_a_setting_and_the_service_enforces_it(head_office, member, settings):
    settings.POINTS_ADJUSTMENT_MAX_POINTS = 500
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 100

    with pytest.raises(InvalidAdjustment) as refused:
        adjust_points(member=member, points=501, reason_category="other", reason="x",
                      source=Source.ADMIN, actor=head_office)

    assert "500" in refused.value.fields["points"][0]
    adjustment = adjust_points(member=member, points=500, reason_category="other", reason="x",
                               source=Source.ADMIN, actor=head_office)
    assert adjustment.status == PointsAdjustment.Status.PENDING  # over the approval threshold


def test_a_million_points_waits_for_approval_and_more_is_refused(client, head_office, member):
    client.force_login(head_office)

    client.post(ADD, add_form(member, "1000000", token="t-1"))

    adjustment = PointsAdjustment.objects.get()
    assert adjustment.status == PointsAdjustment.Status.PENDING and balance(member) == 120


# --- taking more than the member has


def test_the_add_page_says_not_enough_points_on_the_form_not_a_403(client, head_office, member):
    client.force_login(head_office)

    response = client.post(ADD, add_form(member, "-500"))

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["points"]
    assert "120" in error and "500" in error
    assert not PointsAdjustment.objects.exists() and balance(member) == 120


def test_the_list_action_gives_one_red_message_and_no_green_one(client, head_office, member):
    client.force_login(head_office)

    response = client.post(LIST, list_action(member, "-500"), follow=True)

    shown = messages_of(response)
    assert len(shown) == 1
    level, text = shown[0]
    assert level == "error" and member.member_no in text and "120" in text and "500" in text
    assert not PointsAdjustment.objects.exists() and balance(member) == 120


def test_the_list_action_summarises_what_it_did(client, head_office, member, chain):
    other = open_member(phone="13812340000", home_store=chain["SH001"], source=Source.ADMIN)
    client.force_login(head_office)
    data = list_action(member, "-100")
    data["_selected_action"] = [member.pk, other.pk]

    response = client.post(LIST, data, follow=True)

    levels = sorted(level for level, _text in messages_of(response))
    assert levels == ["error", "success"]  # the member without points, then 1 posted
    assert balance(member) == 20


def test_the_member_page_button_refuses_on_its_form(client, head_office, member, chain):
    client.force_login(head_office)
    page = client.get(counter_url(member))
    token = page.context["form"].initial["token"]

    response = client.post(
        counter_url(member),
        {"token": token, "store": chain["SH001"].pk, "points": "-500",
         "reason_category": "correction", "reason": "补录"},
    )

    assert response.status_code == 200
    assert "120" in response.context["form"].errors["points"][0]
    assert balance(member) == 120


def test_a_double_submitted_button_form_adjusts_once(client, head_office, member, chain,
                                                     check_ledgers):
    client.force_login(head_office)
    token = client.get(counter_url(member)).context["form"].initial["token"]
    data = {"token": token, "store": chain["SH001"].pk, "points": "30",
            "reason_category": "complaint", "reason": "投诉补偿"}

    first = client.post(counter_url(member), data)
    second = client.post(counter_url(member), data)

    assert first.status_code == second.status_code == 302
    assert balance(member) == 150
    assert PointsEntry.objects.filter(kind="adjust").count() == 1
    check_ledgers()
