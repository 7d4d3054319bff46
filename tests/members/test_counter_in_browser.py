"""The member page as a counter, in a real browser: the buttons, a form with the balance and
the approval threshold, the one-click export and the import link (issue 12)."""

import io
from decimal import Decimal

from openpyxl import load_workbook

from core.models import Source
from loyalty.models import PointsAccount
from members.services import open_member


def test_adjusting_points_from_the_member_page(admin_page, head_office, chain):  # noqa: F811
    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN,
                         name="王小明", initial_points=1520, initial_stored_value=Decimal("88"))
    page = admin_page(head_office)

    page.goto(f"{page.base_url}/admin/members/member/{member.pk}/change/")
    buttons = page.locator(".object-tools a.counter-button").all_inner_texts()
    assert {"调整积分", "充值", "出售次卡", "挂失补卡", "冻结"} <= set(buttons)

    page.click("a.counter-adjust-points")
    facts = page.locator(".counter-facts").inner_text()
    assert "1,520" in facts and "审批门槛" in facts and "1,000" in facts
    page.select_option("#id_store", str(chain["SH001"].pk))
    page.fill("#id_points", "-20")
    page.select_option("#id_reason_category", "correction")
    page.fill("#id_reason", "多给了")
    page.click("input[type=submit].default")

    page.wait_for_url(f"**/admin/members/member/{member.pk}/change/")
    assert "-20" in page.locator(".messagelist").inner_text()
    assert PointsAccount.objects.get(member=member).balance == 1500


def test_taking_too_many_points_shows_one_message_on_the_form(
    admin_page,  # noqa: F811
    head_office,
    chain,
):
    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN,
                         initial_points=120)
    page = admin_page(head_office)

    page.goto(f"{page.base_url}/admin/members/member/{member.pk}/counter/adjust-points/")
    page.select_option("#id_store", str(chain["SH001"].pk))
    page.fill("#id_points", "-500")
    page.select_option("#id_reason_category", "correction")
    page.fill("#id_reason", "x")
    page.click("input[type=submit].default")

    errors = page.locator(".errorlist").all_inner_texts()
    assert len(errors) == 1 and "120" in errors[0] and "500" in errors[0]
    assert page.locator(".messagelist").count() == 0  # no green "0 posted" beside it


def test_the_member_list_exports_as_filtered_and_links_to_the_import(
    admin_page,  # noqa: F811
    head_office,
    chain,
):
    open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN, name="甲")
    open_member(phone="13912345678", home_store=chain["BJ001"], source=Source.ADMIN, name="乙")
    page = admin_page(head_office)

    page.goto(f"{page.base_url}/admin/members/member/?home_store={chain['BJ001'].pk}")
    with page.expect_download() as download:
        page.click("a.member-export")
    with open(download.value.path(), "rb") as saved:
        sheet = load_workbook(io.BytesIO(saved.read())).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["乙"]

    page.click("a.member-import")
    page.wait_for_url("**/admin/members/importjob/add/")
    assert "导入会员" in page.title()
