"""The campaigns admin, tried by head office and the SH001 and BJ001 managers: the segment editor
and its live preview (only the user's stores), the segment's Excel export, the launch page with
the smallest detectable lift, the report page and its Excel export. Bad input gets a message,
never a 500."""

import json
from datetime import timedelta
from io import BytesIO

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from campaigns.models import Campaign, CampaignMember, Segment
from campaigns.services import deliver_offers, launch_campaign
from core.models import Source
from tests import factories
from tests.campaigns.conftest import NOW, buy, make_campaign, make_segment

pytestmark = pytest.mark.usefixtures("rules")


@pytest.fixture
def shoppers(make_member, tiers, chain):
    """Six members in SH001, four in BJ001, two in GZ001, each bought once 10 days ago."""
    members = {"SH001": [], "BJ001": [], "GZ001": []}
    for code, count in (("SH001", 6), ("BJ001", 4), ("GZ001", 2)):
        for i in range(count):
            member = make_member(tier=tiers["normal"], store=chain[code])
            buy(member, 50 + 10 * i, NOW - timedelta(days=10))
            members[code].append(member)
    return members


def preview(client, definition):
    return client.post(
        reverse("admin:campaigns_segment_preview"), {"definition": json.dumps(definition)}
    )


def test_head_office_and_each_manager_see_their_own_count(
    client, shoppers, head_office, sh001_manager, bj001_manager
):
    everyone = {"all": []}
    for user, count in ((head_office, 12), (sh001_manager, 6), (bj001_manager, 4)):
        client.force_login(user)
        data = preview(client, everyone).json()
        assert data["errors"] == [] and data["count"] == count, user.username
        stores = {row["store"] for row in data["sample"]}
        assert stores <= ({"SH001", "BJ001", "GZ001"} if user == head_office else
                          {user.username[:5].upper()})  # fmt: skip


def test_the_preview_names_the_problem_instead_of_failing(client, shoppers, head_office):
    client.force_login(head_office)

    bad_field = preview(client, {"all": [{"field": "salary", "cmp": ">", "value": 1}]})
    bad_json = client.post(reverse("admin:campaigns_segment_preview"), {"definition": "{oops"})
    wrong_method = client.get(reverse("admin:campaigns_segment_preview"))

    assert bad_field.status_code == 200 and "salary" in bad_field.json()["errors"][0]
    assert bad_json.status_code == 200 and bad_json.json()["errors"]
    assert wrong_method.status_code == 405


def test_a_cashier_sees_no_segments(client, shoppers, sh001_cashier):
    client.force_login(sh001_cashier)
    assert preview(client, {"all": []}).status_code == 403
    assert client.get(reverse("admin:campaigns_segment_changelist")).status_code == 403


def test_head_office_saves_a_segment_through_the_editor_form(client, shoppers, head_office):
    client.force_login(head_office)
    definition = {"all": [{"field": "home_store", "cmp": "in", "value": ["SH001"]}]}

    page = client.get(reverse("admin:campaigns_segment_add"))
    saved = client.post(
        reverse("admin:campaigns_segment_add"),
        {"name": "徐汇会员", "description": "", "definition": json.dumps(definition)},
    )
    refused = client.post(
        reverse("admin:campaigns_segment_add"),
        {"name": "坏人群", "description": "", "definition": '{"all": [{"field": "x"}]}'},
    )

    assert page.status_code == 200 and b"segment-editor" in page.content
    assert saved.status_code == 302
    segment = Segment.objects.get(name="徐汇会员")
    assert segment.definition == definition and len(segment.definition_hash) == 64
    assert refused.status_code == 200 and b"errorlist" in refused.content
    assert not Segment.objects.filter(name="坏人群").exists()


def test_a_manager_cannot_change_segments(client, shoppers, sh001_manager):
    segment = make_segment({"all": []})
    client.force_login(sh001_manager)

    response = client.post(
        reverse("admin:campaigns_segment_change", args=[segment.pk]),
        {"name": "改名", "definition": "{}"},
    )

    assert response.status_code == 403
    segment.refresh_from_db()
    assert segment.name != "改名"


def test_the_segment_export_is_a_real_workbook_of_the_users_members(
    client, shoppers, head_office, sh001_manager, bj001_manager
):
    segment = make_segment({"all": []})
    url = reverse("admin:campaigns_segment_export", args=[segment.pk])
    for user, count in ((head_office, 12), (sh001_manager, 6), (bj001_manager, 4)):
        client.force_login(user)
        response = client.get(url)
        sheet = load_workbook(BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 1 + count, user.username
        assert rows[1][3] in {"SH001", "BJ001", "GZ001"}


def test_the_export_masks_phones_without_the_permission(client, shoppers, chain):
    user = factories.UserFactory(username="analyst", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_segment"),
        Permission.objects.get(codename="view_all_stores"),
    )
    segment = make_segment({"all": []})
    client.force_login(user)

    response = client.get(reverse("admin:campaigns_segment_export", args=[segment.pk]))

    phones = [row[2] for row in load_workbook(BytesIO(response.content)).active.iter_rows(
        min_row=2, values_only=True)]  # fmt: skip
    assert phones and all("****" in phone for phone in phones)


def test_the_launch_page_shows_the_smallest_detectable_lift_and_launches(
    client, shoppers, head_office, cash10
):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    client.force_login(head_office)
    url = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])

    with time_machine.travel(NOW, tick=False):  # the plan reads the last 30 days
        page = client.get(url)
    launched = client.post(url)

    assert page.status_code == 200
    plan = page.context["plan"]
    assert plan["audience"] == 12 and plan["mde"] is not None
    assert f"{plan['mde'] * 100:,.1f}%" in page.content.decode()
    assert [c["share"] for c in page.context["choices"]] == [5, 10, 20, 30, 50]
    mdes = [c["mde"] for c in page.context["choices"]]
    assert mdes[0] is None  # 5% of 12 members is less than one member: cannot be said
    assert mdes[1:] == sorted(mdes[1:], reverse=True)  # more control, smaller detectable lift
    assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status != Campaign.Status.DRAFT and campaign.audience == 12
    again = client.post(url)
    assert (
        again.status_code == 302 and CampaignMember.objects.filter(campaign=campaign).count() == 12
    )


def test_a_refused_launch_says_why_and_changes_nothing(client, shoppers, head_office):
    campaign = make_campaign(make_segment({"all": []}))  # no coupon template
    client.force_login(head_office)

    response = client.post(
        reverse("admin:campaigns_campaign_launch", args=[campaign.pk]), follow=True
    )

    assert response.status_code == 200
    assert any("coupon_template" in str(m) for m in response.context["messages"])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_managers_cannot_launch_or_finish(client, shoppers, sh001_manager, cash10):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    client.force_login(sh001_manager)

    launch = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])
    finish = reverse("admin:campaigns_campaign_finish", args=[campaign.pk])
    assert client.get(launch).status_code == 403
    assert client.post(launch).status_code == 403
    assert client.get(finish).status_code == 403
    assert client.post(finish).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_a_launched_campaign_cannot_be_edited(client, shoppers, head_office, cash10):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)
    client.force_login(head_office)

    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = client.get(url)
    changed = client.post(url, {"code": campaign.code, "name": "改了", "control_percent": "50"})

    assert page.status_code == 200
    assert "control_percent" not in page.context["adminform"].form.fields
    assert b"report-link" in page.content and b"finish-link" in page.content
    assert changed.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name != "改了" and campaign.control_percent == 10


def test_head_office_finishes_a_campaign_after_confirming(client, shoppers, head_office, cash10):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)
    client.force_login(head_office)
    url = reverse("admin:campaigns_campaign_finish", args=[campaign.pk])

    confirm = client.get(url)
    campaign.refresh_from_db()
    assert confirm.status_code == 200 and campaign.status == Campaign.Status.LAUNCHING
    finished = client.post(url)
    again = client.post(url, follow=True)

    assert finished.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED
    assert again.status_code == 200 and list(again.context["messages"])


@pytest.fixture
def measured(shoppers, cash10):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10, control_percent=30)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    for members in shoppers.values():
        for member in members:
            buy(member, "60.00", NOW + timedelta(days=3))
    campaign.refresh_from_db()
    return campaign


def test_the_report_page_and_its_export_per_user(
    client, measured, head_office, sh001_manager, bj001_manager
):
    url = reverse("admin:campaigns_campaign_report", args=[measured.pk])
    export = reverse("admin:campaigns_campaign_report_export", args=[measured.pk])
    for user, members in ((head_office, 12), (sh001_manager, 6), (bj001_manager, 4)):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200, user.username
        report = page.context["report"]
        arms = report["arms"]
        assert arms["treatment"]["members"] + arms["control"]["members"] == members
        assert b"chart-series" in page.content and b"echarts.min.js" in page.content
        book = load_workbook(BytesIO(client.get(export).content))
        assert book.sheetnames == ["概要", "分组", "逐日"]
        summary = {row[0]: row[1] for row in book["概要"].iter_rows(values_only=True)}
        assert summary["发放数（获得权益人数）"] == report["issued"]
        assert summary["用券率"] == report["usage_rate"]
        rows = list(book["分组"].iter_rows(min_row=2, values_only=True))
        assert [row[1] for row in rows] == [
            arms["treatment"]["members"],
            arms["control"]["members"],
        ]
        assert book["分组"]["E2"].number_format == "#,##0.00"


def test_the_report_of_a_draft_redirects_with_a_message(client, shoppers, head_office, cash10):
    draft = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    client.force_login(head_office)

    response = client.get(reverse("admin:campaigns_campaign_report", args=[draft.pk]), follow=True)

    assert response.status_code == 200
    assert any(draft.code in str(m) for m in response.context["messages"])


def test_the_member_page_shows_the_statistics_panel(client, shoppers, head_office):
    from campaigns.statistics import refresh_member_stats

    refresh_member_stats(as_of=NOW, source=Source.COMMAND)
    member = shoppers["SH001"][0]
    client.force_login(head_office)

    page = client.get(reverse("admin:members_member_change", args=[member.pk]))

    assert page.status_code == 200
    assert "stats-panel" in page.content.decode()


def test_the_lists_cost_the_same_queries_for_one_row_or_many(
    client, shoppers, head_office, cash10, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(head_office)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    segment = make_segment({"all": [{"field": "tier", "cmp": "in", "value": ["normal"]}]})
    make_campaign(segment, coupon_template=cash10)
    few = [queries(reverse(f"admin:campaigns_{m}_changelist")) for m in ("segment", "campaign")]
    for _ in range(6):
        more = make_segment({"any": [{"field": "home_store", "cmp": "in", "value": ["SH001"]}]})
        make_campaign(more, coupon_template=cash10)
    many = [queries(reverse(f"admin:campaigns_{m}_changelist")) for m in ("segment", "campaign")]
    assert many == few


def test_head_office_draws_the_yearly_holdout_once(client, head_office, sh001_manager, chain):
    from campaigns.models import HoldoutDraw

    client.force_login(head_office)
    url = reverse("admin:campaigns_holdoutdraw_add")

    drawn = client.post(url, {"year": 2026, "percent": "5"})
    again = client.post(url, {"year": 2026, "percent": "8"})
    too_big = client.post(url, {"year": 2027, "percent": "30"})

    assert drawn.status_code == 302
    assert again.status_code == 200 and too_big.status_code == 200
    assert list(HoldoutDraw.objects.values_list("year", "percent")) == [(2026, 5)]
    draw = HoldoutDraw.objects.get()
    assert len(draw.salt) == 16 and draw.created_by == head_office
    client.force_login(sh001_manager)
    assert client.post(url, {"year": 2028, "percent": "5"}).status_code == 403


def test_out_of_range_numbers_in_the_campaign_form_are_refused_in_words(client, head_office):
    import re

    segment = make_segment({"all": []})
    client.force_login(head_office)
    url = reverse("admin:campaigns_campaign_add")
    page = client.get(url).content.decode()
    management = {
        f"{prefix}-{name}": value
        for prefix in re.findall(r'name="([\w-]+)-TOTAL_FORMS"', page)
        for name, value in [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0")]
    }
    form = {
        "code": "BAD-1", "name": "bad", "segment": segment.pk, "offer": "multiplier",
        "multiplier": "11", "control_percent": "60", "schedule": "once",
        "cooldown_days": "30", "measure_days": "30", **management,
    }  # fmt: skip

    response = client.post(url, form)

    assert response.status_code == 200  # the form again, nothing saved
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"multiplier", "control_percent"}
    assert "10" in errors["multiplier"][0] and "50" in errors["control_percent"][0]
    assert not Campaign.objects.filter(code="BAD-1").exists()
    assert "campaign_control_share" not in response.content.decode()
