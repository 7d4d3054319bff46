"""Head office and a store manager in a real browser: the dashboard draws its charts, every
report opens from the menu and downloads its Excel, and the SH001 manager sees SH001 alone."""

from openpyxl import load_workbook

from tests.browser_support import charts_drawn
from tests.reports.conftest import activity, report_rules  # noqa: F401


def test_head_office_dashboard_draws_its_charts(login, head_office, activity):  # noqa: F811
    page = login(head_office)

    assert page.title().startswith("总部看板")
    assert charts_drawn(page) == 4
    assert page.locator(
        "#dashboard-figures tr[data-figure=sales_amount] td"
    ).first.inner_text() == ("1,050.00")


def test_head_office_opens_every_report_and_downloads_its_excel(
    tmp_path,
    login,
    head_office,
    activity,  # noqa: F811
):
    page = login(head_office)
    charts_drawn(page)
    links = page.locator("#reports-menu a[data-report]")
    slugs = [links.nth(i).get_attribute("data-report") for i in range(links.count())]
    assert len(slugs) == 8 and slugs[-1] == "campaigns"
    page.click("#reports-menu a[data-report=campaigns]")  # the campaign reports hang off their list
    page.wait_for_url("**/admin/campaigns/campaign/")
    slugs.remove("campaigns")

    for slug in slugs:
        page.goto(f"{page.url.split('/admin/')[0]}/admin/")
        page.click(f"#reports-menu a[data-report={slug}]")
        page.wait_for_url(f"**/admin/report/{slug}/")
        assert charts_drawn(page) >= 1, slug
        with page.expect_download() as download:
            page.click("#export-xlsx")
        name = download.value.suggested_filename
        assert name.endswith(".xlsx"), name
        download.value.save_as(tmp_path / name)
        book = load_workbook(tmp_path / name)
        assert book.worksheets[0].max_row >= 3, slug  # title, headers, rows


def test_the_sh001_manager_sees_sh001_alone(login, sh001_manager, activity):  # noqa: F811
    page = login(sh001_manager)

    assert page.title().startswith("门店看板")
    assert charts_drawn(page) == 4
    assert "北京朝阳店" not in page.content()
    reports = page.locator("#reports-menu a[data-report]:not([data-report=campaigns])")
    for slug in [reports.nth(i).get_attribute("data-report") for i in range(reports.count())]:
        page.goto(f"{page.url.split('/admin/')[0]}/admin/report/{slug}/")
        assert charts_drawn(page) >= 1, slug
        html = page.content()
        assert "北京朝阳店" not in html and "BJ001" not in html, slug
