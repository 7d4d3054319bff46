"""Every report and the dashboard, as head office and as the SH001 manager (who sees SH001
alone), with their Excel exports; bad filters get a message, never a 500."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports.reports import REPORTS

SLUGS = [report.slug for report in REPORTS]


def _url(slug, **query):
    url = reverse("admin:reports_report", args=[slug])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _xlsx(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    return load_workbook(io.BytesIO(response.content))


def _cells(book):
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize("slug", SLUGS)
def test_head_office_sees_every_store_and_exports_it(client, head_office, activity, slug):
    client.force_login(head_office)

    page = client.get(_url(slug))
    book = _xlsx(client.get(_url(slug, format="xlsx")))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="report-chart"' in html
    texts = " ".join(str(c.value) for c in _cells(book) if c.value is not None)
    if slug not in ("tier-advice", "recharge-advice"):  # figures, not stores
        assert "北京朝阳店" in html and "北京朝阳店" in texts
        assert "上海徐汇店" in html and "上海徐汇店" in texts


@pytest.mark.parametrize("slug", SLUGS)
def test_the_sh001_manager_sees_sh001_alone(client, sh001_manager, activity, slug):
    client.force_login(sh001_manager)

    page = client.get(_url(slug))
    book = _xlsx(client.get(_url(slug, format="xlsx")))

    html = page.content.decode()
    texts = " ".join(str(c.value) for c in _cells(book) if c.value is not None)
    for other in ("北京朝阳店", "BJ001", "李四"):
        assert other not in html, other
        assert other not in texts, other
    if slug not in ("tier-advice", "recharge-advice"):
        assert "上海徐汇店" in html and "上海徐汇店" in texts


def test_the_excel_export_has_chinese_headers_and_formatted_numbers(client, head_office, activity):
    client.force_login(head_office)

    book = _xlsx(client.get(_url("sales-by-store", format="xlsx")))

    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[1]]
    assert headers[:4] == ["日期", "门店", "销售笔数", "销售额"]
    money = [c for row in rows[2:] for c in row[3:4] if isinstance(c.value, int | float)]
    assert money and {c.number_format for c in money} == {"#,##0.00"}
    total = rows[-1]
    assert total[0].value == "合计" and total[3].value == pytest.approx(3150.0)


def test_money_in_pages_has_two_decimals_and_thousands_separators(client, head_office, activity):
    client.force_login(head_office)

    html = client.get(_url("sales-by-store")).content.decode()

    assert "3,150.00" in html  # the total of member sales over the period
    assert "1,000.00" in html


def test_tier_advice_is_scoped_to_the_managers_store(client, head_office, sh001_manager, activity):
    client.force_login(sh001_manager)
    mine = client.get(_url("tier-advice", format="xlsx"))
    client.force_login(head_office)
    chain = client.get(_url("tier-advice", format="xlsx"))

    def bought(response):
        rows = list(_xlsx(response).worksheets[0].iter_rows(values_only=True))
        return next(value for label, value, *_ in rows if label == "购买会员数")

    assert bought(mine) == 1  # 张三, the only SH001 buyer (a number: issue 20)
    assert bought(chain) == 4


def test_the_settlement_report_shows_pairs_and_clears_through_head_office(
    client, head_office, chain, activity
):
    client.force_login(head_office)

    book = _xlsx(client.get(_url("settlement", format="xlsx")))

    rows = [r for r in book.worksheets[0].iter_rows(values_only=True) if r and r[0]]
    lines = {(r[1], r[2], r[0]): r[5] for r in rows if r[0] in ("积分", "储值")}
    assert lines[("SH001 上海徐汇店", "SH002 上海浦东店", "积分")] == Decimal("2.00")
    assert lines[("BJ001 北京朝阳店", "GZ001 广州天河店", "积分")] == Decimal("3.00")
    assert lines[("SH001 上海徐汇店", "SH002 上海浦东店", "储值")] == Decimal("100.00")
    assert lines[("BJ001 北京朝阳店", "GZ001 广州天河店", "储值")] == Decimal("120.00")


def test_a_franchise_store_gets_its_own_statement(client, head_office, chain, activity):
    client.force_login(head_office)

    book = _xlsx(client.get(_url("settlement", statement=chain["GZ001"].pk)))

    values = [c.value for c in _cells(book) if c.value is not None]
    assert "GZ001 广州天河店" in values
    # net: ¥3 for points and ¥120 of stored value, owed to GZ001; a number (issue 20)
    net = next(c for c in _cells(book) if c.value == 123)
    assert net.number_format == "#,##0.00"
    assert "123.00" not in values


def test_a_manager_cannot_read_another_stores_statement(client, sh001_manager, chain, activity):
    client.force_login(sh001_manager)

    response = client.get(_url("settlement", statement=chain["GZ001"].pk))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-13-45"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"date_from": "2000-01-01", "date_to": "2026-01-01"},
        {"store": "999999"},
        {"store": "abc"},
        {"month": "2026-99"},
        {"month": "x' OR 1=1"},
        {"statement": "abc"},
    ],
)
def test_bad_filters_get_a_message_not_a_500(client, head_office, activity, query):
    client.force_login(head_office)
    for slug in SLUGS:
        response = client.get(_url(slug, **query))
        assert response.status_code in (200, 404), (slug, query, response.status_code)


def test_a_bad_date_range_is_explained_on_the_page(client, head_office, activity):
    client.force_login(head_office)

    html = client.get(
        _url("sales-by-store", date_from="2026-03-10", date_to="2026-03-01")
    ).content.decode()

    assert "开始日期晚于结束日期" in html


def test_the_manager_cannot_pick_another_store(client, sh001_manager, chain, activity):
    client.force_login(sh001_manager)

    html = client.get(_url("sales-by-store", store=chain["BJ001"].pk)).content.decode()

    assert "北京朝阳店" not in html
    assert "上海徐汇店" in html


def test_an_unknown_report_is_404(client, head_office):
    client.force_login(head_office)
    assert client.get(_url("no-such-report")).status_code == 404


def test_a_cashier_sees_no_reports(client, sh001_cashier):
    client.force_login(sh001_cashier)

    assert client.get(_url("sales-by-store")).status_code == 403
    assert client.get(reverse("admin:reports_index")).status_code == 403
    home = client.get(reverse("admin:index"))
    assert home.status_code == 200 and "report-chart" not in home.content.decode()


def test_only_head_office_closes_a_period(client, sh001_manager, activity):
    client.force_login(sh001_manager)

    response = client.post(_url("settlement"), {"month": "2026-03", "action": "close"})

    assert response.status_code == 403


def test_the_reports_menu_links_every_report(client, head_office, activity):
    client.force_login(head_office)

    html = client.get(reverse("admin:reports_index")).content.decode()

    for slug in SLUGS:
        assert f'data-report="{slug}"' in html
    # the campaign reports join the menu: it leads to the campaign list, each with its report
    assert 'data-report="campaigns"' in html
    assert reverse("admin:campaigns_campaign_changelist") in html


def test_head_office_closes_a_finished_month_from_the_report(client, head_office, activity):
    from django.utils import timezone

    from reports.models import SettlementPeriod

    client.force_login(head_office)
    this_month = timezone.localdate().strftime("%Y-%m")

    bad = client.post(_url("settlement"), {"month": "not-a-month", "action": "close"})
    early = client.post(_url("settlement"), {"month": this_month, "action": "close"})
    draft = client.post(_url("settlement"), {"month": this_month, "action": "compute"})

    assert bad.status_code == early.status_code == draft.status_code == 302
    period = SettlementPeriod.objects.get()
    assert period.status == "open" and period.computed_at is not None  # not closed: not over
    messages = [str(m) for m in client.get(draft["Location"]).context["messages"]]
    assert messages  # the refusal and the recompute were both told
    assert period.lines.count() == 4  # 2 points + 2 stored-value pairs
