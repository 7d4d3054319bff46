"""One description of a report's tables serves both the page and its Excel export: the page
shows each cell formatted (money with 2 decimals and thousands separators), the workbook gets
real numbers with a number format, so finance can add them up."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from core import excel
from core.templatetags.formatting import money, number, percent

# Number formats per column kind (core.excel writes them).
EXCEL_FORMATS = {
    "int": excel.COUNT,
    "money": excel.MONEY,
    "percent": excel.RATE,
    "rate": excel.decimals(6),
    "figure1": excel.decimals(1),
    "figure2": excel.decimals(2),
    "date": excel.DATE,
    "month": excel.MONTH,
}
EXCEL_WIDTHS = {"text": 22, "date": 12, "month": 10}
NUMERIC_KINDS = ("int", "money", "percent", "rate", "figure1", "figure2")


@dataclass
class Column:
    key: str
    title: str
    # text | int | money | percent | rate (6 decimals) | figure1 / figure2 (a plain figure with
    # 1 or 2 decimals: visits per member) | date | month
    kind: str = "text"
    # A column of mixed figures (a figure / value table): each row names its value's kind in
    # row[kind_key]; `kind` is the default.
    kind_key: str | None = None

    def kind_of(self, row):
        if self.kind_key and row is not None and row.get(self.kind_key):
            return row[self.kind_key]
        return self.kind

    def display(self, value, kind=None):
        kind = kind or self.kind
        if value is None or value == "":
            return ""
        if kind == "money":
            return money(value)
        if kind == "int":
            return number(value)
        if kind == "percent":
            return percent(value)
        if kind == "rate":
            return f"{Decimal(value):.6f}"
        if kind in ("figure1", "figure2"):
            return f"{Decimal(value):,.{kind[-1]}f}"
        if kind == "date":
            return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)
        if kind == "month":
            return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)
        return str(value)

    @property
    def numeric(self):
        return self.kind in NUMERIC_KINDS or self.kind_key is not None


@dataclass
class Table:
    title: str
    columns: list
    rows: list
    total: dict | None = None
    note: str = ""
    more: int = 0  # rows left out of the page (all of them are in the Excel file)
    page_rows: int | None = None
    extra: dict = field(default_factory=dict)

    def cells(self):
        rows = self.rows if self.page_rows is None else self.rows[: self.page_rows]
        return [
            [
                (column.display(row.get(column.key), column.kind_of(row)), column.numeric)
                for column in self.columns
            ]
            for row in rows
        ]

    def total_cells(self):
        if self.total is None:
            return None
        return [
            (column.display(self.total.get(column.key), column.kind_of(self.total)),
             column.numeric)
            for column in self.columns
        ]  # fmt: skip

    @property
    def hidden_rows(self):
        if self.page_rows is None:
            return 0
        return max(len(self.rows) - self.page_rows, 0)


def _excel_value(kind, value):
    """A report value as core.excel writes it: a number with its kind's format, a date, or
    text (never a formula)."""
    if value is None or value == "":
        return None
    if kind == "int":
        return excel.Value(int(value), EXCEL_FORMATS[kind])
    if kind == "money":
        return excel.Value(Decimal(value), EXCEL_FORMATS[kind])
    if kind in EXCEL_FORMATS and kind not in ("date", "month"):
        return excel.Value(float(value), EXCEL_FORMATS[kind])
    if kind in ("date", "month"):
        if isinstance(value, date | datetime):
            return excel.Value(value, EXCEL_FORMATS[kind])
        return str(value)
    return str(value)


def workbook(sheets, total_label) -> bytes:
    """An .xlsx of `sheets` ([(sheet title, [Table])]): per table a title row, bold headers,
    numbers as numbers with their format, and the total row when the table has one."""
    book = excel.Book()
    for sheet_title, tables in sheets:
        sheet = book.sheet(sheet_title)
        widest = max((len(t.columns) for t in tables), default=0)
        widths = {}
        for i in range(widest):
            kinds = {t.columns[i].kind for t in tables if i < len(t.columns)}
            widths[i + 1] = max((EXCEL_WIDTHS.get(k, 16) for k in kinds), default=16)
        sheet.widths(widths)
        for index, table in enumerate(tables):
            if index:
                sheet.blank()
            sheet.title(table.title)
            if table.note:
                sheet.row([str(table.note)])
            sheet.header([column.title for column in table.columns])
            for row in table.rows:
                sheet.row(_excel_row(table.columns, row))
            if table.total is not None:
                total = dict(table.total)
                first = table.columns[0].key
                if total.get(first) in (None, ""):
                    total[first] = str(total_label)
                sheet.row(_excel_row(table.columns, total, label=first), bold=True)
    return book.to_bytes()


def _excel_row(columns, row, label=None):
    return [
        excel.text(row.get(column.key)) if column.key == label
        else _excel_value(column.kind_of(row), row.get(column.key))
        for column in columns
    ]  # fmt: skip
