"""Real .xlsx files for import tests."""

from openpyxl import Workbook, load_workbook

from members.importing.members import TEMPLATE_HEADERS


def write_workbook(path, rows, headers=TEMPLATE_HEADERS):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def member_row(phone, **values):
    """A template row: 手机号 first, then any of the other headers by name."""
    row = [phone] + [""] * (len(TEMPLATE_HEADERS) - 1)
    for header, value in values.items():
        row[TEMPLATE_HEADERS.index(header)] = value
    return row


def read_rows(path):
    sheet = load_workbook(path, read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]
