"""One writer for every export file (core/excel.py): a syntax-tree scan of the project fails on
any other module that writes .xlsx or CSV itself (openpyxl, tablib, the csv module) or hands
out a spreadsheet download of its own, so a new export cannot skip what core.excel does (no
cell from data becomes a formula; numbers stay numbers). The scan is shown catching each way."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin

from core.excel import SafeCSV, SafeXLSX

ROOT = Path(__file__).resolve().parents[2]
WRITER = "core/excel.py"
SPREADSHEET_CONTENT_TYPES = ("spreadsheetml", "text/csv", "application/vnd.ms-excel")
# openpyxl names a module may import to read a workbook; everything else writes one.
READING = {"load_workbook"}


def findings(source, name="<module>"):
    """[(line, what)] of each way `source` writes a spreadsheet itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            names = {alias.name for alias in node.names}
            if root == "openpyxl" and names - READING:
                found.append((node.lineno, f"imports {', '.join(sorted(names))} from openpyxl"))
            if root == "tablib":
                found.append((node.lineno, "imports tablib"))
            if node.module == "csv" and names & {"writer", "DictWriter"}:
                found.append((node.lineno, "imports the csv writer"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in {"openpyxl", "tablib"}:
                    found.append((node.lineno, f"imports {alias.name}"))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
            and node.attr in {"writer", "DictWriter"}
        ):
            found.append((node.lineno, f"calls csv.{node.attr}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(kind in node.value for kind in SPREADSHEET_CONTENT_TYPES)
        ):
            found.append((node.lineno, f"answers a spreadsheet itself ({node.value[:40]})"))
    return found


def _project_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "benchmarks/", ".pgdata/")) or rel == WRITER:
            continue  # benchmarks write their input files, tests read and build files
        if "/migrations/" in rel:
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_no_module_but_core_excel_writes_a_spreadsheet():
    stray = [
        f"{rel}:{line}: {what}" for rel, source in _project_files()
        for line, what in findings(source)
    ]  # fmt: skip
    assert stray == []


@pytest.mark.parametrize(
    "source",
    [
        "from openpyxl import Workbook\nWorkbook(write_only=True)",
        "from openpyxl.cell import WriteOnlyCell",
        "import openpyxl\nopenpyxl.Workbook()",
        "import csv\nw = csv.writer(out)",
        "from csv import DictWriter",
        "import tablib\ntablib.Dataset().export('xlsx')",
        'response = HttpResponse(data, content_type="text/csv")',
        'XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"',
    ],
)
def test_the_scan_catches_each_way_of_writing_a_spreadsheet(source):
    assert findings(source)


def test_reading_a_workbook_is_not_writing_one():
    assert findings("from openpyxl import load_workbook\nimport csv\ncsv.reader(f)") == []


def test_django_import_export_writes_through_core_excel():
    """Every admin export of django-import-export offers only core.excel's formats."""
    assert [SafeXLSX, SafeCSV] == settings.EXPORT_FORMATS
    offered = {
        f"{model._meta.label}: {fmt.__name__}"
        for model, model_admin in admin.site._registry.items()
        if hasattr(model_admin, "get_export_formats")
        for fmt in model_admin.get_export_formats()
        if not issubclass(fmt, SafeXLSX | SafeCSV)
    }
    assert offered == set()
