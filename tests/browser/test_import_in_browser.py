"""A member import through the admin in a real browser: the bar refreshes itself to 100%, the
check's summary appears when the background job ends, and confirming imports the rows."""

from members.models import Member
from tests.members.xlsx import member_row, write_workbook


def test_the_import_bar_reaches_100_percent(login, head_office, chain, settings, tmp_path):
    settings.MEMBER_IMPORT_BACKGROUND_BYTES = 0  # every upload goes to the background job
    settings.MEDIA_ROOT = str(tmp_path / "media")
    workbook = write_workbook(
        tmp_path / "members.xlsx",
        [
            member_row("13800000001", 姓名="张三", 开卡门店="SH001", 积分=5),
            member_row("13800000002", 姓名="李四", 开卡门店="SH002"),
            member_row("not-a-phone", 开卡门店="SH001"),
        ],
    )
    page = login(head_office)

    page.goto(f"{page.url.split('/admin/')[0]}/admin/members/importjob/add/")
    page.set_input_files("#id_file", str(workbook))
    page.click("input[type=submit].default")
    page.wait_for_url("**/progress/")
    bar = page.locator("[role=progressbar]")
    page.wait_for_function("document.getElementById('import-job').dataset.status === 'previewed'")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert page.locator("#import-report").is_visible()  # the bad phone's row
    assert Member.objects.count() == 0  # checked, nothing imported yet

    page.click("#import-confirm input[type=submit]")
    page.wait_for_url("**/progress/")
    page.wait_for_function("document.getElementById('import-job').dataset.status === 'done'")

    assert bar.get_attribute("aria-valuenow") == "100"
    assert page.locator(".import-progress-bar").evaluate("el => el.style.width") == "100%"
    assert set(Member.objects.values_list("phone", flat=True)) == {"13800000001", "13800000002"}
