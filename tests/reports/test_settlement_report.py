"""The settlement report as people read it: every kind of value settled (points, stored value,
coupon funding) has its column in the net positions, so the components add up to each party's
net on the page, in the Excel export and in a franchise store's statement; the report opens on
the last closed month (the current one while none is closed)."""

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from core.models import Source
from coupons.models import CouponTemplate, CouponTemplateVersion
from coupons.services import issue_coupon, save_coupon_template
from reports import services
from sales.services import post_sale

from .conftest import line, make_member, recharge, sell

SH = ZoneInfo("Asia/Shanghai")
MARCH = datetime(2026, 3, 1).date()
KINDS = ["积分（元）", "储值（元）", "优惠券折扣（元）"]


def on(month, day):
    return datetime(2026, month, day, 12, tzinfo=SH)


def _url(**query):
    url = reverse("admin:reports_report", args=["settlement"])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _rows(book, title):
    """The rows of the table titled `title` in the first sheet, as {header: value} dicts."""
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == title)
    headers = rows[start + 1]
    out = []
    for row in rows[start + 2 :]:
        if not row or row[0] is None:
            break
        out.append(dict(zip(headers, row, strict=False)))
    return out


@pytest.fixture
def march_with_coupons(chain, report_rules, check_ledgers):
    """March 2026: 甲 earns in SH001 and spends 300 points and ¥50 of an SH001 recharge in
    GZ001 (a franchise) with a ¥10 coupon head office funds: GZ001 is owed ¥3 + ¥50 + ¥10."""
    s = chain
    template = CouponTemplate(code="HQ10", name="HQ10")
    save_coupon_template(
        template=template,
        terms={"face_value": Decimal("10"), "funding": CouponTemplateVersion.Funding.HEAD_OFFICE},
    )
    member = make_member(s["SH001"], name="甲")
    with time_machine.travel(on(3, 2), tick=False):
        sell(member, s["SH001"], "1000.00", at=on(3, 2))
        recharge(member, s["SH001"], "100.00", at=on(3, 2))
    with time_machine.travel(on(3, 10), tick=False):
        coupon = issue_coupon(template=template, member=member, occasion="m", source=Source.ADMIN)
        post_sale(store=s["GZ001"], member=member, receipt_no="GZ-1", lines=[line("200.00")],
                  total=Decimal("200.00"), redeem_points=300, stored_value_amount=Decimal("50"),
                  coupon_codes=[coupon.code], source=Source.TILL, at=on(3, 10))  # fmt: skip
    check_ledgers()
    return member


def test_the_net_positions_show_every_kind_and_add_up(
    client, head_office, chain, march_with_coupons
):
    client.force_login(head_office)
    with time_machine.travel(on(4, 5), tick=False):
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        page = client.get(_url(month="2026-03"))
        book = load_workbook(io.BytesIO(client.get(_url(month="2026-03", format="xlsx")).content))

    positions = _rows(book, "各方净额及总部清算")
    assert positions
    by_party = {row["结算方"]: row for row in positions}
    gz = by_party["GZ001 广州天河店"]
    assert [gz[k] for k in KINDS] == [Decimal("3.00"), Decimal("50.00"), Decimal("10.00")]
    for row in positions:
        assert sum(row[k] or 0 for k in KINDS) == row["净额"] == row["应收"] - row["应付"]
    html = page.content.decode()
    assert "优惠券折扣（元）" in html and "10.00" in html


def test_a_franchise_statement_breaks_the_net_down_by_kind(
    client, head_office, chain, march_with_coupons
):
    client.force_login(head_office)
    with time_machine.travel(on(4, 5), tick=False):
        response = client.get(_url(month="2026-03", statement=chain["GZ001"].pk))
    book = load_workbook(io.BytesIO(response.content))

    kinds = {row["类型"]: row for row in _rows(book, "按类别")}
    total = kinds.pop("合计")
    assert {k: v["净额"] for k, v in kinds.items()} == {
        "积分": Decimal("3.00"),
        "储值": Decimal("50.00"),
        "优惠券折扣": Decimal("10.00"),
    }
    assert total["净额"] == Decimal("63.00") == total["我方应收"] - total["我方应付"]
    lines = [row for row in _rows(book, "明细") if row["类型"] != "合计"]
    assert sum(row["金额（+ 应收，− 应付）"] for row in lines) == Decimal("63.00")


def test_the_report_opens_on_the_last_closed_month(client, head_office, chain, march_with_coupons):
    client.force_login(head_office)
    with time_machine.travel(on(4, 5), tick=False):
        before = client.get(_url())
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        after = client.get(_url())
        asked = client.get(_url(month="2026-04"))

    assert before.context["result"].period == "2026-04"  # none closed: the current month
    assert after.context["result"].period == "2026-03"
    assert "GZ001 广州天河店" in after.content.decode()
    assert asked.context["result"].period == "2026-04"  # a month picked is the month shown


def test_head_office_reads_the_closed_month_in_a_browser(
    login, head_office, chain, march_with_coupons
):
    """In chromium: the report opens on the closed March, its net positions have a column per
    kind, and on GZ001's row they add up to the net as printed."""
    with time_machine.travel(on(4, 5), tick=True):
        services.close_settlement_period(month=MARCH, actor=None, source=Source.COMMAND)
        page = login(head_office)
        page.goto(page.url.split("/admin/")[0] + _url())
        table = page.locator("table.report-table").first
        headers = table.locator("thead th").all_inner_texts()
        gz = table.locator("tbody tr", has_text="GZ001")
        cells = dict(zip(headers, gz.locator("td").all_inner_texts(), strict=True))

    assert "2026-03" in page.locator("p.help").first.inner_text()
    assert [cells[k] for k in KINDS] == ["3.00", "50.00", "10.00"]
    assert cells["净额"] == "63.00" == cells["应收"]


def test_every_kind_settled_has_a_column_in_the_net_positions():
    from reports.models import SettlementLine
    from reports.reports import KIND_COLUMNS

    assert list(KIND_COLUMNS) == list(SettlementLine.Kind.values)
