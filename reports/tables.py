"""One description of a report's tables serves both the page and its Excel export: the page
shows each cell formatted (money with 2 decimals and thousands separators), the workbook gets
real numbers with a number format, so finance can add them up."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.utils import timezone

from core.templatetags.formatting import money, number, percent

# openpyxl number formats per column kind.
EXCEL_FORMATS = {
    "int": "#,##0",
    "money": "#,##0.00",
    "percent": "0.0%",
    "rate": "0.000000",
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
}
EXCEL_WIDTHS = {"text": 22, "date": 12, "month": 10}


@dataclass
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | money | percent | rate | date | month

    def display(self, value):
        if value is None or value == "":
            return ""
        if self.kind == "money":
            return money(value)
        if self.kind == "int":
            return number(value)
        if self.kind == "percent":
            return percent(value)
        if self.kind == "rate":
            return f"{Decimal(value):.6f}"
        if self.kind == "date":
            return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)
        if self.kind == "month":
            return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)
        return str(value)

    @property
    def numeric(self):
        return self.kind in ("int", "money", "percent", "rate")


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
            [(column.display(row.get(column.key)), column.numeric) for column in self.columns]
            for row in rows
        ]

    def total_cells(self):
        if self.total is None:
            return None
        return [
            (column.display(self.total.get(column.key)), column.numeric) for column in self.columns
        ]

    @property
    def hidden_rows(self):
        if self.page_rows is None:
            return 0
        return max(len(self.rows) - self.page_rows, 0)


def _excel_value(column, value):
    if value is None:
        return None
    if column.kind in ("int",):
        return int(value)
    if column.kind in ("money", "percent", "rate"):
        return float(value) if column.kind != "money" else Decimal(value)
    if column.kind in ("date", "month"):
        if isinstance(value, datetime):
            return timezone.localtime(value).replace(tzinfo=None)
        return value if isinstance(value, date) else str(value)
    return str(value)


def workbook(sheets, total_label) -> bytes:
    """An .xlsx of `sheets` ([(sheet title, [Table])]): per table a title row, bold headers,
    numbers as numbers with their format, and the total row when the table has one."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    used_titles = set()
    for sheet_title, tables in sheets:
        title = _sheet_title(sheet_title, used_titles)
        sheet = book.create_sheet(title=title)
        widest = max((len(t.columns) for t in tables), default=0)
        for i in range(widest):
            kinds = {t.columns[i].kind for t in tables if i < len(t.columns)}
            width = max((EXCEL_WIDTHS.get(k, 16) for k in kinds), default=16)
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
        for index, table in enumerate(tables):
            if index:
                sheet.append([])
            heading = WriteOnlyCell(sheet, value=str(table.title))
            heading.font = Font(bold=True, size=12)
            sheet.append([heading])
            if table.note:
                sheet.append([str(table.note)])
            headers = []
            for column in table.columns:
                cell = WriteOnlyCell(sheet, value=str(column.title))
                cell.font = bold
                headers.append(cell)
            sheet.append(headers)
            for row in table.rows:
                sheet.append(_excel_row(sheet, table.columns, row, WriteOnlyCell))
            if table.total is not None:
                total = dict(table.total)
                first = table.columns[0].key
                total.setdefault(first, str(total_label))
                if total.get(first) in (None, ""):
                    total[first] = str(total_label)
                cells = _excel_row(sheet, table.columns, total, WriteOnlyCell, force_text=first)
                for cell in cells:
                    cell.font = bold
                sheet.append(cells)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _excel_row(sheet, columns, row, cell_class, force_text=None):
    cells = []
    for column in columns:
        raw = row.get(column.key)
        value = str(raw) if column.key == force_text and raw is not None else raw
        if column.key != force_text:
            value = _excel_value(column, raw)
        cell = cell_class(sheet, value=value)
        if column.kind in EXCEL_FORMATS and column.key != force_text:
            cell.number_format = EXCEL_FORMATS[column.kind]
        cells.append(cell)
    return cells


def _sheet_title(title, used):
    # Excel: at most 31 characters, none of []:*?/\ and unique in the book.
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(title))[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate
