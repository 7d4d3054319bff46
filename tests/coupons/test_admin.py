"""The coupon admin in Chinese: templates and their versions, the preview of a sample basket,
the issued coupons (filters, Excel export, void), a print run, and the member page's coupons
and actions; each tried by head office and the two store managers."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from openpyxl import load_workbook

from core.models import Source
from coupons.models import Coupon, CouponTemplate
from loyalty.models import PointsAccount
from members.models import Member
from tests.coupons.conftest import checkout, give, grant_points, line

TEMPLATES = reverse("admin:coupons_coupontemplate_changelist")
COUPONS = reverse("admin:coupons_coupon_changelist")
MEMBERS = reverse("admin:members_member_changelist")

TERMS = {
    "kind": "cash",
    "face_value": "10",
    "percent_off": "0",
    "threshold": "50",
    "scope": "all",
    "stores": "all",
    "validity": "relative",
    "starts_after_days": "0",
    "valid_days": "30",
    "combinable": "on",
    "funding": "head_office",
    "store_share_percent": "0",
    "refund_policy": "return",
}


def template_form(**overrides):
    data = {
        "code": "NEW10",
        "name": "新客满50减10",
        "is_active": "on",
        "per_member_limit": "1",
        **TERMS,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def sh_and_bj(make_member, chain):
    return make_member(store=chain["SH001"]), make_member(store=chain["BJ001"])


def test_head_office_creates_a_template_and_an_edit_makes_a_new_version(
    client, head_office, member
):
    client.force_login(head_office)

    created = client.post(reverse("admin:coupons_coupontemplate_add"), template_form())
    assert created.status_code == 302, created.context["adminform"].form.errors
    template = CouponTemplate.objects.get(code="NEW10")
    first = template.current_version
    assert (first.number, first.face_value, first.threshold) == (1, Decimal("10"), Decimal("50"))
    coupon = give(template, member)

    change = reverse("admin:coupons_coupontemplate_change", args=[template.pk])
    renamed = client.post(change, template_form(name="满50减10（新）"))
    template.refresh_from_db()
    assert renamed.status_code == 302 and template.current_version == first  # no new terms

    client.post(change, template_form(face_value="12"))
    template.refresh_from_db()
    assert template.current_version.number == 2
    assert template.current_version.face_value == Decimal("12")
    coupon.refresh_from_db()
    assert coupon.version == first  # an issued coupon keeps the terms it was issued with
    page = client.get(change)
    assert page.status_code == 200 and "满50减12" in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"face_value": "0"}, "face_value"),
        ({"kind": "percent", "percent_off": "0"}, "percent_off"),
        ({"kind": "percent", "percent_off": "101"}, "percent_off"),
        ({"scope": "categories", "categories": ""}, "categories"),
        ({"stores": "listed"}, "store_list"),
        ({"weekdays": "1,8"}, "weekdays"),
        ({"validity": "fixed"}, "valid_until"),
        ({"valid_days": "0"}, "valid_days"),
        ({"face_value": "-5"}, "face_value"),
        ({"code": ""}, "code"),
    ],
)
def test_terms_that_make_no_coupon_are_refused_on_the_form(client, head_office, overrides, field):
    client.force_login(head_office)

    response = client.post(reverse("admin:coupons_coupontemplate_add"), template_form(**overrides))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not CouponTemplate.objects.exists()


def test_the_preview_shows_what_a_sample_basket_gets(client, head_office, chain, cash10):
    client.force_login(head_office)
    url = reverse("admin:coupons_coupontemplate_preview", args=[cash10.pk])
    assert client.get(url).status_code == 200

    applies = client.post(
        url, {"store": chain["SH001"].pk, "lines": "A, fresh, 1, 33.33\nB, x, 2, 66.67"}
    )
    short = client.post(url, {"store": chain["SH001"].pk, "lines": "A, fresh, 1, 49.99"})
    broken = client.post(url, {"store": chain["SH001"].pk, "lines": "A, fresh, one, 9"})

    result = applies.context["result"]
    assert result["outcome"].discount == Decimal("10.00") and result["pays"] == Decimal("90.00")
    assert [share for _line, share in result["lines"]] == [Decimal("3.33"), Decimal("6.67")]
    assert "90.00" in applies.content.decode()
    assert short.context["result"]["outcome"].reason == "coupon_threshold_not_met"
    assert broken.status_code == 200 and broken.context["result"] is None
    assert "lines" in broken.context["form"].errors
    assert not Coupon.objects.exists()  # nothing issued


def test_the_coupon_list_filters_and_exports_what_it_shows(
    client, head_office, rules, member, cash10, fresh90, chain
):
    used = give(cash10, member)
    give(fresh90, member)
    checkout(member, [line("A", "1234.50")], coupons=[used])
    client.force_login(head_office)

    for query in ("", "?status__exact=used", f"?template__id__exact={cash10.pk}",
                  f"?used_store__id__exact={chain['SH001'].pk}", "?issued_at__gte=2000-01-01",
                  f"?q={used.code}", "?q=nothing", "?status__exact=bogus"):  # fmt: skip
        assert client.get(COUPONS + query).status_code in (200, 302), query
    listed = client.get(COUPONS + "?status__exact=used")
    assert list(listed.context["cl"].queryset) == [used]

    export = client.get(reverse("admin:coupons_coupon_export") + "?status__exact=used")
    rows = list(load_workbook(BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == used.code
    sheet = load_workbook(BytesIO(export.content)).active
    discount = sheet.cell(row=2, column=13)
    assert discount.value == 10 and discount.number_format == "#,##0.00"
    assert 'href="/admin/coupons/coupon/export/?status__exact=used"' in listed.content.decode()


def test_a_store_manager_sees_only_the_coupons_of_their_members(
    client, sh001_manager, bj001_manager, sh_and_bj, cash10
):
    sh, bj = sh_and_bj
    sh_coupon, bj_coupon = give(cash10, sh), give(cash10, bj)

    client.force_login(sh001_manager)
    assert list(client.get(COUPONS).context["cl"].queryset) == [sh_coupon]
    assert client.get(reverse("admin:coupons_coupon_change", args=[bj_coupon.pk])).status_code in (
        302,
        404,
    )
    export = client.get(reverse("admin:coupons_coupon_export"))
    codes = [
        r[0] for r in load_workbook(BytesIO(export.content)).active.iter_rows(values_only=True)
    ]
    assert codes[1:] == [sh_coupon.code]

    client.force_login(bj001_manager)
    assert list(client.get(COUPONS).context["cl"].queryset) == [bj_coupon]
    # A store manager reads templates but does not change or print them.
    assert client.get(TEMPLATES).status_code == 200
    change = client.post(reverse("admin:coupons_coupontemplate_change", args=[cash10.pk]),
                         template_form(code="CASH10", face_value="99"))  # fmt: skip
    assert change.status_code == 403
    printing = {"action": "print_selected", ACTION_CHECKBOX_NAME: [cash10.pk], "apply": "1",
                "count": "5", "token": "t"}  # fmt: skip
    assert client.post(TEMPLATES, printing).status_code in (200, 302)
    assert Coupon.objects.filter(owner__isnull=True).count() == 0


def test_voiding_from_the_list_needs_a_reason_and_gives_exchanged_points_back(
    client, head_office, chain, member, cash10, check_ledgers
):
    from coupons.services import exchange_points_for_coupon

    grant_points(member, 1500)
    coupon, _entry, _replayed = exchange_points_for_coupon(
        member=member, template=cash10, exchange_no="X1", store=chain["SH001"], source=Source.TILL
    )
    client.force_login(head_office)
    data = {"action": "void_selected", ACTION_CHECKBOX_NAME: [coupon.pk]}

    asked = client.post(COUPONS, {**data, "apply": "1", "reason": ""})
    assert asked.status_code == 200 and "reason" in asked.context["form"].errors
    client.post(COUPONS, {**data, "apply": "1", "reason": "会员退回"})
    client.post(COUPONS, {**data, "apply": "1", "reason": "会员退回"})  # resubmitted

    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.VOIDED
    assert PointsAccount.objects.get(member=member).balance == 1500
    check_ledgers()


def test_head_office_prints_a_run_of_codes_to_excel(client, head_office, cash10, check_ledgers):
    client.force_login(head_office)
    data = {"action": "print_selected", ACTION_CHECKBOX_NAME: [cash10.pk]}

    form = client.post(TEMPLATES, data)
    token = form.context["form"].initial["token"]
    printed = client.post(TEMPLATES, {**data, "apply": "1", "count": "3", "token": token})
    again = client.post(TEMPLATES, {**data, "apply": "1", "count": "3", "token": token})

    rows = list(load_workbook(BytesIO(printed.content)).active.iter_rows(values_only=True))
    assert len(rows) == 4 and {r[0] for r in rows[1:]} == set(
        Coupon.objects.filter(owner__isnull=True).values_list("code", flat=True)
    )
    assert again.content and Coupon.objects.filter(owner__isnull=True).count() == 3
    check_ledgers()


def test_the_member_page_shows_the_members_coupons(client, head_office, member, cash10):
    coupon = give(cash10, member)
    client.force_login(head_office)

    page = client.get(reverse("admin:members_member_change", args=[member.pk]))

    assert page.status_code == 200
    assert coupon.code in page.content.decode() and cash10.name in page.content.decode()


def test_head_office_issues_a_coupon_from_the_member_list_once_per_form(
    client, head_office, member, cash10, chain, check_ledgers
):
    client.force_login(head_office)
    data = {"action": "issue_coupon_action", ACTION_CHECKBOX_NAME: [member.pk]}
    form = client.post(MEMBERS, data)
    token = form.context["form"].initial["token"]
    filled = {**data, "apply": "1", "token": token, "template": cash10.pk,
              "store": chain["SH001"].pk}  # fmt: skip

    client.post(MEMBERS, filled)
    client.post(MEMBERS, filled)  # a double click

    assert Coupon.objects.filter(owner=member, template=cash10).count() == 1
    check_ledgers()


def test_a_store_manager_exchanges_points_for_their_members_only(
    client, sh001_manager, sh_and_bj, cash10, chain, check_ledgers
):
    sh, bj = sh_and_bj
    for m in (sh, bj):
        grant_points(m, 1200)
    client.force_login(sh001_manager)
    actions = client.get(MEMBERS).context["action_form"].fields["action"].choices
    names = {name for name, _label in actions}
    assert "exchange_coupon_action" in names and "issue_coupon_action" not in names

    data = {"action": "exchange_coupon_action", ACTION_CHECKBOX_NAME: [sh.pk, bj.pk]}
    form = client.post(MEMBERS, data)
    token = form.context["form"].initial["token"]
    client.post(MEMBERS, {**data, "apply": "1", "token": token, "template": cash10.pk,
                          "store": chain["SH001"].pk})  # fmt: skip

    assert Coupon.objects.filter(owner=sh).count() == 1
    assert not Coupon.objects.filter(owner=bj).exists()  # not in this manager's list
    assert PointsAccount.objects.get(member=sh).balance == 200
    assert PointsAccount.objects.get(member=bj).balance == 1200
    assert Member.objects.count() == 2
    check_ledgers()


def test_the_admin_pages_answer_in_chinese(client, head_office, cash10, member):
    give(cash10, member)
    client.force_login(head_office)

    for url in (TEMPLATES, COUPONS, reverse("admin:coupons_couponevent_changelist"),
                reverse("admin:coupons_coupontemplate_change", args=[cash10.pk])):  # fmt: skip
        page = client.get(url)
        assert page.status_code == 200
        assert "优惠券" in page.content.decode(), url
