"""Tests for members.importing: cell normalisation and the xlsx/csv reader.

No database and no Django settings are needed: error messages are lazy and the
tests assert on the stable ``code``/``params`` of RowError instead of wording.
"""

import datetime as dt
import io
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from members.importing import reader
from members.importing.normalize import (
    MAX_POINTS,
    ImportDataError,
    RowError,
    is_blank_row,
    normalize_birthday,
    normalize_gender,
    normalize_money,
    normalize_phone,
    normalize_points,
    normalize_text,
)
from members.importing.reader import FileReadError, iter_rows, read_header

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2024, 6, 15)


def raises_row_error(func, value, code, **kwargs):
    with pytest.raises(RowError) as excinfo:
        func(value, **kwargs)
    assert excinfo.value.code == code, excinfo.value.params
    return excinfo.value


# --------------------------------------------------------------------------
# RowError
# --------------------------------------------------------------------------


def test_it_exposes_code_params_and_message_on_row_errors():
    error = raises_row_error(normalize_phone, "abc", "invalid_phone")
    assert isinstance(error, ValueError)
    assert isinstance(error, ImportDataError)
    assert error.params == {"value": "abc"}
    assert error.message is not None


def test_it_renders_the_interpolated_message_lazily():
    # Run in a fresh interpreter: the error must be raised before settings
    # exist and only rendered afterwards, which cannot be arranged in-process
    # once pytest-django (or another test) has configured settings.
    script = textwrap.dedent(
        """
        from django.conf import settings
        from members.importing.normalize import RowError, normalize_phone
        try:
            normalize_phone("12345")
        except RowError as exc:
            error = exc
        settings.configure(USE_I18N=False)
        print(str(error.message))
        print(str(error))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "Invalid mobile phone number: 12345",
        "Invalid mobile phone number: 12345",
    ]


# --------------------------------------------------------------------------
# normalize_phone
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "  13812345678\t",
        "\u300013812345678\u200b",  # ideographic space, zero-width space
        "138 1234 5678",
        "138-1234-5678",
        "138—1234—5678",  # em dash from a Chinese IME
        "138.1234.5678",
        "(138)1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "(+86) 138-1234-5678",
        "8613812345678",
        "86 138 1234 5678",
        "008613812345678",
        "0086-138-1234-5678",
        "１３８１２３４５６７８",
        "＋８６　１３８１２３４５６７８",
        "（１３８）１２３４－５６７８",
        13812345678,
        13812345678.0,
        Decimal("13812345678"),
        8613812345678,
        "1.3812345678E10",
        "1.3812345678E+10",
        "1.3812345678e10",
        "13812345678.0",
        "13812345678.00",
    ],
)
def test_it_accepts_phone_forms(value):
    assert normalize_phone(value) == "13812345678"


@pytest.mark.parametrize("value", ["13000000000", "19999999999", "13912345678", "19112345678"])
def test_it_accepts_every_second_digit_from_3_to_9(value):
    assert normalize_phone(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "10812345678",  # second digit 0
        "11812345678",
        "12812345678",  # second digit 2
        "23812345678",  # does not start with 1
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+85213812345678",  # Hong Kong prefix
        "+86 12812345678",
        "08613812345678",
        "+86+8613812345678",
        "1381234567a",
        "abc",
        "138/1234/5678",
        "٠١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits: int() would accept them
        "1.3812345678E9",  # 1381234567.8
        "13812345678.5",
        13812345678.5,
        -13812345678,
        1381234567,
        float("nan"),
        float("inf"),
        True,
        dt.date(2020, 1, 1),
    ],
)
def test_it_rejects_invalid_phones(value):
    raises_row_error(normalize_phone, value, "invalid_phone")


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_it_requires_a_phone(value):
    raises_row_error(normalize_phone, value, "phone_required")


@pytest.mark.parametrize("value", ["1.38123E+10", "1.3812345E10", "1.38E10"])
def test_it_rejects_scientific_phones_that_lost_digits(value):
    error = raises_row_error(normalize_phone, value, "phone_precision_lost")
    assert error.params == {"value": value}


def test_it_shortens_huge_values_in_error_params():
    error = raises_row_error(normalize_phone, "x" * 500, "invalid_phone")
    assert len(error.params["value"]) == 50


# --------------------------------------------------------------------------
# normalize_birthday
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        dt.date(1990, 1, 2),
        dt.datetime(1990, 1, 2, 23, 59),
        "1990-01-02",
        "1990-1-2",
        "1990/1/2",
        "1990/01/02",
        "1990.1.2",
        "1990.01.02",
        "1990年1月2日",
        "1990年01月02日",
        "1990 年 1 月 2 日",
        "1990年1月2",
        "19900102",
        " 1990-01-02 ",
        "１９９０－０１－０２",
        "1990-01-02 00:00:00",
        "1990/1/2 8:30",
        "1990-01-02T10:30:00",
        19900102,
        19900102.0,
        32875,  # Excel serial
        32875.0,
        32875.75,  # serial with a time of day
    ],
)
def test_it_accepts_birthday_forms(value):
    assert normalize_birthday(value, today=TODAY) == dt.date(1990, 1, 2)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_it_returns_none_for_blank_birthdays(value):
    assert normalize_birthday(value) is None


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),  # Excel's fake 1900-02-29 is serial 60
        (32874, dt.date(1990, 1, 1)),
        (44000, dt.date(2020, 6, 18)),
        (60000, dt.date(2064, 4, 8)),
    ],
)
def test_it_converts_excel_serials_with_the_1900_date_system(serial, expected):
    assert normalize_birthday(serial, today=dt.date(2100, 1, 1)) == expected


def test_it_accepts_a_birthday_of_today_and_a_leap_day():
    assert normalize_birthday(TODAY, today=TODAY) == TODAY
    assert normalize_birthday("2000-02-29", today=TODAY) == dt.date(2000, 2, 29)
    assert normalize_birthday("1900-01-01", today=TODAY) == dt.date(1900, 1, 1)


@pytest.mark.parametrize(
    "value",
    [
        "1990-02-30",
        "1990-13-01",
        "1990-00-10",
        "1990-01-32",
        "1990-01-00",
        "1900-02-29",  # 1900 was not a leap year
        "2001-02-29",
        "1990年13月1日",
        "19901301",
        19901301,
        "1990-01/02",  # mixed separators
        "90-1-2",
        "01/02/1990",  # ambiguous day/month order
        "199001",
        "1990",
        "abc",
        "1990-01-02 25:00",
        60,  # Excel's fake 1900-02-29
        0,
        0.5,
        -1,
        60000.5,
        60001,
        123456,
        float("nan"),
        True,
        dt.time(10, 0),
    ],
)
def test_it_rejects_invalid_birthdays(value):
    raises_row_error(normalize_birthday, value, "invalid_birthday", today=TODAY)


@pytest.mark.parametrize(
    "value",
    [TODAY + dt.timedelta(days=1), "2024-06-16", dt.datetime(2030, 1, 1), "2999年1月1日", 60000],
)
def test_it_rejects_future_birthdays(value):
    raises_row_error(normalize_birthday, value, "birthday_in_future", today=TODAY)


@pytest.mark.parametrize("value", ["1899-12-31", dt.date(1800, 1, 1), "18991231"])
def test_it_rejects_birthdays_before_1900(value):
    raises_row_error(normalize_birthday, value, "birthday_too_old", today=TODAY)


def test_it_uses_the_system_date_when_today_is_not_given():
    assert normalize_birthday(dt.date.today()) == dt.date.today()
    raises_row_error(
        normalize_birthday, dt.date.today() + dt.timedelta(days=1), "birthday_in_future"
    )


# --------------------------------------------------------------------------
# normalize_gender
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("男", "M"),
        (" 男 ", "M"),
        ("先生", "M"),
        ("M", "M"),
        ("m", "M"),
        ("Ｍ", "M"),  # full-width
        ("male", "M"),
        ("Male", "M"),
        ("MALE", "M"),
        ("女", "F"),
        ("女士", "F"),
        ("F", "F"),
        ("f", "F"),
        ("female", "F"),
        ("Female", "F"),
        ("FEMALE", "F"),
        ("未知", "U"),
        ("U", "U"),
        ("u", "U"),
        (None, "U"),
        ("", "U"),
        ("  ", "U"),
    ],
)
def test_it_accepts_gender_forms(value, expected):
    assert normalize_gender(value) == expected


@pytest.mark.parametrize(
    "value",
    ["X", "男女", "man", "woman", "0", "1", "2", 0, 1, 1.0, True, "保密", "unknown", "男性"],
)
def test_it_rejects_invalid_genders(value):
    raises_row_error(normalize_gender, value, "invalid_gender")


# --------------------------------------------------------------------------
# normalize_points
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("", 0),
        ("  ", 0),
        (0, 0),
        (1200, 1200),
        (1200.0, 1200),
        (Decimal("1200"), 1200),
        (Decimal("1200.00"), 1200),
        ("0", 0),
        ("1200", 1200),
        (" 1200 ", 1200),
        ("1,200", 1200),
        ("1，200", 1200),  # full-width comma
        ("１，２００", 1200),
        ("1,234,567", 1234567),
        ("1200.0", 1200),
        ("1,200.00", 1200),
        (MAX_POINTS, MAX_POINTS),
        (str(MAX_POINTS), MAX_POINTS),
    ],
)
def test_it_accepts_points_forms(value, expected):
    result = normalize_points(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [-1, -1.0, "-5", "-1,200", Decimal("-1")])
def test_it_rejects_negative_points(value):
    raises_row_error(normalize_points, value, "negative_points")


@pytest.mark.parametrize("value", [1.5, 0.1, "1.5", "1,200.01", Decimal("1.5")])
def test_it_rejects_fractional_points(value):
    raises_row_error(normalize_points, value, "fractional_points")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12,00",  # malformed grouping
        "1,20",
        "1 200",
        "+5",
        "1e3",
        "５分",
        "٣",  # Arabic-Indic digit
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        True,
        dt.date(2020, 1, 1),
    ],
)
def test_it_rejects_non_numeric_points(value):
    raises_row_error(normalize_points, value, "invalid_points")


@pytest.mark.parametrize("value", [MAX_POINTS + 1, str(MAX_POINTS + 1), 13812345678.0])
def test_it_rejects_points_beyond_the_database_limit(value):
    raises_row_error(normalize_points, value, "points_too_large")


# --------------------------------------------------------------------------
# normalize_money
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "0.00"),
        ("", "0.00"),
        (" ", "0.00"),
        (0, "0.00"),
        (12, "12.00"),
        (12.5, "12.50"),
        (0.1, "0.10"),
        (0.1 + 0.2, "0.30"),  # 0.30000000000000004
        (19.990000000000002, "19.99"),  # formula noise stored by Excel
        (-0.0, "0.00"),
        (Decimal("12.5"), "12.50"),
        (Decimal("12.500"), "12.50"),
        ("0", "0.00"),
        ("0.00", "0.00"),
        ("12", "12.00"),
        ("12.5", "12.50"),
        ("12.50", "12.50"),
        ("12.500", "12.50"),  # extra zeros lose nothing
        ("¥12.50", "12.50"),
        ("￥12.50", "12.50"),
        ("¥ 12.50", "12.50"),
        ("RMB12.50", "12.50"),
        ("RMB 12.50", "12.50"),
        ("rmb12.5", "12.50"),
        ("12.50元", "12.50"),
        ("12.50 元", "12.50"),
        ("￥1,200.50元", "1200.50"),
        ("1，200.50", "1200.50"),
        ("１２．５０", "12.50"),
        ("¥ 1,234,567.89", "1234567.89"),
        ("9007199254740993.01", "9007199254740993.01"),  # beyond float precision
    ],
)
def test_it_accepts_money_forms(value, expected):
    result = normalize_money(value)
    assert result == Decimal(expected)
    assert str(result) == expected  # always exactly 2 places, never "-0.00"


@pytest.mark.parametrize(
    "value", ["-12", "-12.50", "¥-12", "-¥12", "- 12", -0.01, -1, Decimal("-1")]
)
def test_it_rejects_negative_money(value):
    raises_row_error(normalize_money, value, "negative_money")


@pytest.mark.parametrize(
    "value", ["12.345", "12.001", "0.005", "¥1,200.505元", 12.345, 0.005, Decimal("12.345")]
)
def test_it_rejects_money_with_more_than_two_decimals(value):
    raises_row_error(normalize_money, value, "money_precision")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12.5.1",
        "12,00",
        "1,20.00",
        "$12",
        "12元5角",
        ".5",
        "12.",
        "1e3",
        "¥",
        float("nan"),
        float("inf"),
        1e30,  # more digits than the decimal context can hold in cents
        Decimal("NaN"),
        True,
        dt.date(2020, 1, 1),
    ],
)
def test_it_rejects_non_numeric_money(value):
    raises_row_error(normalize_money, value, "invalid_money")


# --------------------------------------------------------------------------
# normalize_text / is_blank_row
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  张三  ", "张三"),
        ("\u3000张三\u200b", "张三"),
        ("张 三", "张 三"),
        ("ＡＢＣ", "ＡＢＣ"),  # free text keeps full-width characters
        (13812345678.0, "13812345678"),
        (12, "12"),
        (12.5, "12.5"),
        (Decimal("12.0"), "12"),
        (Decimal("12.50"), "12.50"),
        (True, "TRUE"),
        (dt.date(1990, 1, 2), "1990-01-02"),
        (dt.datetime(1990, 1, 2, 3, 4, 5), "1990-01-02 03:04:05"),
    ],
)
def test_it_normalizes_text(value, expected):
    assert normalize_text(value, 100) == expected


def test_it_accepts_text_up_to_max_length():
    assert normalize_text("张三丰李四", 5) == "张三丰李四"
    assert normalize_text("  abcde  ", 5) == "abcde"  # measured after stripping
    assert normalize_text("x" * 10_000) == "x" * 10_000  # no limit by default


def test_it_rejects_text_longer_than_max_length():
    error = raises_row_error(normalize_text, "张三丰李四王", "text_too_long", max_length=5)
    assert error.params["length"] == 6
    assert error.params["max_length"] == 5
    raises_row_error(normalize_text, 123456.0, "text_too_long", max_length=5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], True),
        ([None, None], True),
        ([None, "", "  ", "\u3000", "\t"], True),
        ([None, 0], False),
        ([None, "x"], False),
        ([dt.date(2020, 1, 1)], False),
    ],
)
def test_it_detects_blank_rows(values, expected):
    assert is_blank_row(values) is expected


# --------------------------------------------------------------------------
# reader: xlsx
# --------------------------------------------------------------------------

HEADER = ["手机号", "姓名", "生日", "积分", "余额"]


def build_xlsx(path, rows):
    """Write rows with openpyxl; row i of the list is Excel row i + 1."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "会员"
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=row_number, column=column, value=value)
    workbook.save(path)
    return path


@pytest.fixture
def members_xlsx(tmp_path):
    return build_xlsx(
        tmp_path / "members.xlsx",
        [
            HEADER,
            [13812345678, "张三　", dt.date(1990, 1, 2), 1200, 12.5],  # row 2
            # Row 3 is whitespace only. "\u3000" rather than spaces: openpyxl
            # omits xml:space="preserve", so a spaces-only cell reads back as "".
            [None, "\u3000", None, None, None],
            [],  # row 4: empty
            ["＋８６ １３９-0000-0000", "Ｌｉ　Ｓｉ", "1990年1月2日", "1,200", "￥8.80"],  # row 5
        ],
    )


def test_it_reads_the_xlsx_header(members_xlsx):
    assert read_header(members_xlsx) == HEADER


def test_it_numbers_xlsx_rows_as_excel_shows_them(members_xlsx):
    assert [number for number, _values in iter_rows(members_xlsx)] == [2, 5]
    all_numbers = [number for number, _values in iter_rows(members_xlsx, skip_blank=False)]
    assert all_numbers == [2, 3, 4, 5]


def test_it_yields_xlsx_cells_the_normalizers_understand(members_xlsx):
    rows = dict(iter_rows(members_xlsx))
    phone, name, birthday, points, money = rows[2]
    assert phone == 13812345678.0  # calamine turns every number into a float
    assert isinstance(birthday, dt.date)
    assert normalize_phone(phone) == "13812345678"
    assert normalize_text(name, 20) == "张三"
    assert normalize_birthday(birthday) == dt.date(1990, 1, 2)
    assert normalize_points(points) == 1200
    assert normalize_money(money) == Decimal("12.50")

    phone, name, birthday, points, money = rows[5]
    assert name == "Ｌｉ　Ｓｉ"  # full-width text comes through untouched
    assert normalize_phone(phone) == "13900000000"
    assert normalize_birthday(birthday) == dt.date(1990, 1, 2)
    assert normalize_points(points) == 1200
    assert normalize_money(money) == Decimal("8.80")


def test_it_returns_empty_xlsx_cells_as_none(members_xlsx):
    rows = dict(iter_rows(members_xlsx, skip_blank=False))
    assert rows[3] == [None, "\u3000", None, None, None]
    assert rows[4] == [None] * 5


def test_it_keeps_absolute_positions_when_leading_rows_and_columns_are_empty(tmp_path):
    # Pins python-calamine behaviour: iter_rows() pads leading empty rows but
    # not leading empty columns; the reader compensates for the latter.
    path = build_xlsx(
        tmp_path / "offset.xlsx", [[], [], [None, "phone", "name"], [None, "13812345678", "x"]]
    )
    assert read_header(path) == ["", "", ""]  # row 1 is the header, even if empty
    rows = list(iter_rows(path))
    assert rows == [(3, [None, "phone", "name"]), (4, [None, "13812345678", "x"])]


def test_it_selects_xlsx_sheets_by_name_or_index(tmp_path):
    path = tmp_path / "two.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["first"])
    second = workbook.create_sheet("门店")
    second.append(["h"])
    second.append(["v"])
    workbook.save(path)
    assert list(iter_rows(path, sheet="门店")) == [(2, ["v"])]
    assert list(iter_rows(path, sheet=1)) == [(2, ["v"])]
    assert read_header(path, sheet=0) == ["first"]


@pytest.mark.parametrize("sheet", ["missing", 5, -1])
def test_it_reports_missing_sheets(members_xlsx, sheet):
    with pytest.raises(FileReadError) as excinfo:
        list(iter_rows(members_xlsx, sheet=sheet))
    assert excinfo.value.code == "sheet_not_found"


def test_it_reads_an_empty_sheet_as_no_rows(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert read_header(path) == []
    assert list(iter_rows(path)) == []


def test_it_reads_xlsx_uploads_from_file_objects(members_xlsx):
    with open(members_xlsx, "rb") as upload:
        assert read_header(upload) == HEADER
        # The same upload can be read again: the reader rewinds it.
        assert [number for number, _values in iter_rows(upload)] == [2, 5]
        assert not upload.closed


def test_it_sniffs_xlsx_without_a_file_name(members_xlsx):
    upload = io.BytesIO(members_xlsx.read_bytes())
    assert read_header(upload) == HEADER


def test_it_is_lazy(members_xlsx):
    rows = iter_rows(members_xlsx)
    assert next(rows)[0] == 2
    rows.close()


def test_it_reports_corrupt_xlsx_files(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(FileReadError) as excinfo:
        read_header(path)
    assert excinfo.value.code == "unreadable_excel"


def test_it_rejects_unsupported_file_types(tmp_path):
    path = tmp_path / "members.txt"
    path.write_text("phone\n13812345678\n")
    with pytest.raises(FileReadError) as excinfo:
        list(iter_rows(path))
    assert excinfo.value.code == "unsupported_file_type"
    with pytest.raises(FileReadError):
        read_header(path, file_format="pdf")


# --------------------------------------------------------------------------
# reader: csv
# --------------------------------------------------------------------------

CSV_TEXT = (
    "手机号,姓名,生日\r\n"
    "13812345678,张三,1990-01-02\r\n"  # row 2
    ",,\r\n"  # row 3: blank
    '13900000000,"李\r\n四",1990/1/2\r\n'  # row 4: a line break inside a quoted cell
    "13700000000\r\n"  # row 5: short row
)


def test_it_reads_utf8_csv_with_bom(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(CSV_TEXT.encode("utf-8-sig"))
    assert read_header(path) == ["手机号", "姓名", "生日"]  # no "\ufeff" on the first name
    assert list(iter_rows(path)) == [
        (2, ["13812345678", "张三", "1990-01-02"]),
        (4, ["13900000000", "李\r\n四", "1990/1/2"]),
        (5, ["13700000000", None, None]),
    ]


def test_it_reads_utf8_csv_without_bom(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(CSV_TEXT.encode("utf-8"))
    assert read_header(path)[0] == "手机号"
    assert [number for number, _values in iter_rows(path, skip_blank=False)] == [2, 3, 4, 5]


def test_it_reads_gb18030_csv(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(CSV_TEXT.encode("gb18030"))
    assert read_header(path) == ["手机号", "姓名", "生日"]
    assert dict(iter_rows(path))[2] == ["13812345678", "张三", "1990-01-02"]


def test_it_detects_gb18030_when_chinese_only_appears_late(tmp_path, monkeypatch):
    # Tiny chunks so multi-byte characters straddle chunk boundaries.
    monkeypatch.setattr(reader, "_CHUNK_SIZE", 7)
    lines = ["phone,name"] + [f"138{i:08d},x" for i in range(200)] + ["13900000000,王五"]
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode("gb18030"))
    rows = list(iter_rows(path))
    assert rows[-1] == (202, ["13900000000", "王五"])


def test_it_reads_csv_uploads_from_file_objects(tmp_path):
    upload = io.BytesIO(CSV_TEXT.encode("gb18030"))
    assert read_header(upload, file_format="csv") == ["手机号", "姓名", "生日"]
    assert [number for number, _values in iter_rows(upload, file_format="csv")] == [2, 4, 5]
    assert not upload.closed
    text_upload = io.StringIO(CSV_TEXT)
    assert [number for number, _values in iter_rows(text_upload, file_format="csv")] == [2, 4, 5]


def test_it_takes_the_format_from_the_upload_name(tmp_path):
    path = tmp_path / "MEMBERS.CSV"
    path.write_bytes(CSV_TEXT.encode("utf-8-sig"))
    with open(path, "rb") as upload:
        assert read_header(upload)[0] == "手机号"


def test_it_reads_an_empty_csv(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert read_header(path) == []
    assert list(iter_rows(path)) == []


def test_it_rejects_csv_in_an_unknown_encoding(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(b"phone,name\n13812345678,\xff\xff\n")
    with pytest.raises(FileReadError) as excinfo:
        list(iter_rows(path))
    assert excinfo.value.code == "unknown_encoding"
