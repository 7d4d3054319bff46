"""The streaming .xlsx reader gives what calamine gives, in constant memory."""

import datetime as dt
import zipfile

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from members.importing import reader
from members.importing.reader import FileReadError, iter_rows
from members.importing.xlsx_stream import XlsxStream

ROWS = [
    ["手机号", "姓名", "生日", "积分", "金额", "布尔", None, "时间"],
    [13812345678, "张三 ", dt.datetime(1990, 1, 2), 1200, 88.5, True, None,
     dt.datetime(2020, 5, 6, 7, 8, 9)],
    ["+86 138", "a&b<c>\"'", dt.date(1991, 2, 3), "1,200", "¥1,234.50", False, "x", None],
    [],
    [None, "李四"],
]  # fmt: skip


def _calamine(path):
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return [[None if v == "" else v for v in row] for row in sheet.iter_rows()]


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a == b
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("write_only", [False, True], ids=["shared strings", "write-only"])
def test_it_reads_what_calamine_reads(tmp_path, write_only):
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("会员") if write_only else workbook.active
    for row in ROWS:
        sheet.append(row)
    path = tmp_path / "m.xlsx"
    workbook.save(path)

    stream = XlsxStream(path)
    mine = [values for _number, values in stream.rows()]
    theirs = _calamine(path)
    assert len(mine) == len(theirs)
    for ours, calamine in zip(mine, theirs, strict=True):
        assert len(ours) == len(calamine)
        assert all(_same(a, b) for a, b in zip(ours, calamine, strict=True)), (ours, calamine)


def test_it_reads_inline_strings_rich_text_and_the_1904_date_system(tmp_path):
    path = tmp_path / "hand.xlsx"
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:C3"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>手机号</t></is></c>'
        '<c r="B1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="A3" t="str"><f>A1</f><v>x &amp; y</v></c>'
        '<c r="B3" s="1"><v>0</v></c><c r="C3" t="e"><v>#N/A</v></c></row>'
        "</sheetData></worksheet>"
    )
    strings = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><r><t>姓</t></r><r><t>名</t></r><rPh><t>ignored</t></rPh></si><si><t/></si></sst>"
    )
    styles = (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts><numFmt numFmtId="164" '
        'formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
        '<cellXfs><xf numFmtId="0"/><xf numFmtId="164"/></cellXfs></styleSheet>'
    )
    workbook = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<workbookPr date1904="1"/><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="x"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", rels)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", strings)
        z.writestr("xl/styles.xml", styles)
    totals = []
    rows = list(XlsxStream(path).rows(on_total=totals.append))
    assert totals == [3]
    assert rows == [
        (1, ["手机号", "姓名", None]),
        (2, [None, None, None]),
        (3, ["x & y", dt.date(1904, 1, 1), "#N/A"]),
    ]


def test_a_zip_that_is_not_a_workbook_goes_to_calamine_and_is_refused(tmp_path):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("content.xml", "<x/>")
    assert reader._xlsx_stream(path, 0) is None
    with pytest.raises(FileReadError):
        list(iter_rows(path))


def test_the_plain_cell_path_reads_what_the_general_one_reads(tmp_path):
    """Rows of plain cells are read by one pattern; every other row by the general path. Both
    give the same values, cell types included (formulas, rich text and bare cells mixed in)."""
    workbook = Workbook()
    sheet = workbook.active
    for row in ROWS:
        sheet.append(row)
    sheet.append(["=1+1", "a&amp;b", 5, "", None, "1e3", 1.5e-7, "x"])
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    with zipfile.ZipFile(path, "a") as book:  # a row with a cell without r, as some tools write
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    bare_row = '<row r="9"><c><v>3</v></c><c r="B9" t="inlineStr"><is><t>bare</t></is></c></row>'
    xml = xml.replace("</sheetData>", bare_row + "</sheetData>")
    rewritten = tmp_path / "n.xlsx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(rewritten, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = xml.encode()
            new.writestr(item, data)

    plain = list(XlsxStream(rewritten).rows())
    general = XlsxStream(rewritten)
    general._cells = general._any_cells
    assert plain == list(general.rows())
    last = plain[-1][1]  # as wide as the sheet
    assert [(v, type(v)) for v in last[:2]] == [(3, int), ("bare", str)] and set(last[2:]) == {None}
    assert _calamine(rewritten)[-1][:2] == [3.0, "bare"]


def test_small_sheets_are_read_whole_and_big_ones_streamed_alike(tmp_path, monkeypatch):
    workbook = Workbook()
    for row in ROWS:
        workbook.active.append(row)
    path = tmp_path / "m.xlsx"
    workbook.save(path)

    whole = list(iter_rows(path))  # a small sheet: calamine
    monkeypatch.setattr(reader, "CALAMINE_MAX_SHEET_BYTES", 0)
    streamed = list(iter_rows(path))

    assert XlsxStream(path).size > 0
    assert [n for n, _v in whole] == [n for n, _v in streamed]
    for (_n, ours), (_m, theirs) in zip(streamed, whole, strict=True):
        assert all(_same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)


def _rewrite(path, target, sheet_xml=None, drop=()):
    """A copy of the workbook at `path` with its sheet XML replaced and some parts left out."""
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename in drop:
                continue
            data = old.read(item.filename)
            if sheet_xml is not None and item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            new.writestr(item, data)
    return target


def test_cells_with_a_namespace_prefix_and_iso_dates_are_read(tmp_path):
    """Writers such as the Open XML SDK prefix every element (x:c); strict files write dates
    as t="d". Neither may come back empty or stop the import."""
    workbook = Workbook()
    workbook.active.append(["手机号", "姓名"])
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (
        f'<x:worksheet xmlns:x="{ns}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>手机号</x:t></x:is></x:c>'
        '<x:c r="B1" t="inlineStr"><x:is><x:t>生日</x:t></x:is></x:c></x:row>'
        '<x:row r="2"><x:c r="A2"><x:v>13812345678</x:v></x:c>'
        '<x:c r="B2" t="d"><x:v>1990-01-02T00:00:00</x:v></x:c></x:row>'
        '<x:row r="3"><x:c r="A3" t="d"><x:v>not a date</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    rows = list(XlsxStream(_rewrite(path, tmp_path / "x.xlsx", sheet)).rows())

    assert rows[0] == (1, ["手机号", "生日"])
    assert rows[1] == (2, [13812345678, dt.date(1990, 1, 2)])
    assert rows[2] == (3, ["not a date", None])


def test_a_small_workbook_calamine_refuses_is_read_by_the_stream(tmp_path):
    workbook = Workbook()
    for row in ROWS:
        workbook.active.append(row)
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    broken = _rewrite(path, tmp_path / "b.xlsx", drop={"_rels/.rels"})  # calamine insists on it

    with pytest.raises(Exception):  # noqa: B017, PT011  (calamine's own error type)
        CalamineWorkbook.from_path(str(broken))
    streamed, whole = list(iter_rows(broken)), list(iter_rows(path))
    assert [n for n, _v in streamed] == [n for n, _v in whole] and len(streamed) == 3
    for (_n, ours), (_m, theirs) in zip(streamed, whole, strict=True):
        assert all(_same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)
