"""Read rows from uploaded member spreadsheets (.xlsx/.xls/.ods or .csv).

Row numbers are the ones Excel shows: the header is row 1 and the first data
row is 2, blank rows included in the count, so an error report such as
"row 1234: invalid phone" points at the row the shop staff can see.

Cell values are passed through untouched for the ``normalize_*`` functions,
except that empty cells are always ``None`` (calamine reports them as "").

Memory: calamine (Rust) loads the whole sheet into a compact grid when it is
opened - the library has no row-streaming API - but Python objects are only
created one row at a time by ``CalamineSheet.iter_rows()``, so the Python
heap stays flat however many rows the sheet has. CSV files are decoded and
parsed strictly one record at a time.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineError, CalamineWorkbook

from .normalize import ImportDataError, is_blank_row, normalize_text

__all__ = ["FileReadError", "count_rows", "iter_rows", "read_header"]

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
CSV_SUFFIXES = frozenset({".csv"})

# Excel's "CSV UTF-8" adds a BOM ("utf-8-sig" removes it, and also reads
# plain UTF-8); Excel's plain "CSV" on Chinese Windows is GBK, a subset of
# GB18030.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")

_CHUNK_SIZE = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"  # xlsx/xlsm/xlsb/ods
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls

HEADER_ROW = 1

Source = str | os.PathLike | IO


class FileReadError(ImportDataError):
    """The file as a whole cannot be read (wrong type, corrupt, bad encoding)."""


def read_header(
    source: Source, *, sheet: int | str = 0, file_format: str | None = None
) -> list[str]:
    """Return the header row (row 1) as stripped strings; [] for an empty file."""
    # closing() releases the workbook/file right away instead of leaving a
    # suspended generator to the garbage collector.
    with contextlib.closing(_iter_all_rows(source, sheet=sheet, file_format=file_format)) as rows:
        for row_number, values in rows:
            if row_number == HEADER_ROW:
                return [normalize_text(value) for value in values]
            break
    return []


def count_rows(source: Source, *, file_format: str | None = None) -> int:
    """About how many rows a CSV file has, for progress (a quoted cell with a line break counts
    twice; progress does not mind); 0 for a workbook, whose `iter_rows(on_total=)` tells."""
    if _detect_format(source, file_format) != "csv" or isinstance(source, io.TextIOBase):
        return 0
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as binary:
            return _count_lines(binary)
    source.seek(0)
    try:
        return _count_lines(source)
    finally:
        source.seek(0)


def _count_lines(binary) -> int:
    lines = 0
    while chunk := binary.read(_CHUNK_SIZE):
        lines += chunk.count(b"\n")
    return lines


def iter_rows(
    source: Source,
    *,
    sheet: int | str = 0,
    file_format: str | None = None,
    skip_blank: bool = True,
    on_total=None,
    skip_header: bool = True,
) -> Iterator[tuple[int, list]]:
    """Yield ``(excel_row_number, values)`` for every data row after the header.

    ``source`` is a path or a binary file object (e.g. a Django
    ``UploadedFile``); file objects are rewound first, so ``read_header`` and
    ``iter_rows`` can be called on the same upload. The format is taken from
    ``file_format`` ("xlsx", "csv", ...), else the file name's suffix, else
    sniffed from the content. ``sheet`` is a sheet index or name (ignored for
    CSV). Blank rows are skipped unless ``skip_blank`` is False; they still
    count towards the row numbers. CSV rows are padded with ``None`` to the
    header width so columns can be looked up by index safely. `on_total(rows)` is called with
    a workbook sheet's height once it is open (for progress). With `skip_header` False the
    header row comes first (row 1, even when blank): one pass reads both.
    """
    rows = _iter_all_rows(source, sheet=sheet, file_format=file_format, on_total=on_total)
    with contextlib.closing(rows):
        for row_number, values in rows:
            if row_number == HEADER_ROW:
                if not skip_header:
                    yield row_number, values
                continue
            if skip_blank and is_blank_row(values):
                continue
            yield row_number, values


def _iter_all_rows(
    source: Source, *, sheet: int | str, file_format: str | None, on_total=None
) -> Iterator[tuple[int, list]]:
    if _detect_format(source, file_format) == "csv":
        return _iter_csv(source)
    return _iter_excel(source, sheet, on_total)


# --------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------


def _unsupported(name) -> FileReadError:
    return FileReadError(
        _("Unsupported file type: %(name)s. Upload an Excel (.xlsx) or CSV file."),
        code="unsupported_file_type",
        params={"name": name or "?"},
    )


def _detect_format(source: Source, file_format: str | None) -> str:
    if file_format:
        suffix = "." + file_format.lower().lstrip(".")
        name = file_format
    else:
        name = (
            os.fspath(source)
            if isinstance(source, (str, os.PathLike))
            else getattr(source, "name", None)
        )
        suffix = Path(str(name)).suffix.lower() if name else ""
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if file_format:
        raise _unsupported(name)
    # Unknown or missing extension (e.g. "export.dat", BytesIO): sniff.
    head = _peek(source, len(_OLE_MAGIC))
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        return "excel"
    raise _unsupported(name)


def _peek(source: Source, size: int) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return handle.read(size)
    if isinstance(source, io.TextIOBase):
        return b""
    source.seek(0)
    head = source.read(size)
    source.seek(0)
    return head or b""


# --------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------


def _open_workbook(source: Source):
    try:
        if isinstance(source, (str, os.PathLike)):
            return CalamineWorkbook.from_path(os.fspath(source))
        source.seek(0)
        return CalamineWorkbook.from_filelike(source)
    except CalamineError as exc:
        raise FileReadError(
            _("The Excel file cannot be read: %(error)s"),
            code="unreadable_excel",
            params={"error": str(exc)},
        ) from exc


def _sheet(workbook, sheet):
    try:
        if isinstance(sheet, str):
            return workbook.get_sheet_by_name(sheet)
        return workbook.get_sheet_by_index(sheet)
    except (CalamineError, IndexError, OverflowError) as exc:
        raise FileReadError(
            _("Worksheet %(sheet)s not found."),
            code="sheet_not_found",
            params={"sheet": sheet},
        ) from exc


# Sheets whose XML is at most this big are read whole by calamine (~100 MB resident at most,
# about 200,000 rows); bigger ones stream in constant memory.
CALAMINE_MAX_SHEET_BYTES = 64 * 1024 * 1024


def _iter_excel(source: Source, sheet: int | str, on_total=None) -> Iterator[tuple[int, list]]:
    # An .xlsx streams row by row in constant memory (calamine would hold the whole sheet:
    # ~950 MB at a million rows); anything it does not recognise goes to calamine, which
    # reads every format and reports what is wrong with a file.
    # A sheet small enough to hold goes to calamine too: it parses about 5 times faster than
    # the stream (0.8 s against 4 s for 100,000 rows) at about twice the sheet's size in memory.
    stream = _xlsx_stream(source, sheet)
    workbook = None
    if stream is None or stream.size <= CALAMINE_MAX_SHEET_BYTES:
        try:
            workbook = _open_workbook(source)
        except FileReadError:
            if stream is None:
                raise
            # calamine refuses what the stream reads (a missing part it insists on)
    if workbook is None:
        try:
            yield from stream.rows(on_total)
        finally:
            stream.close()
        return
    if stream is not None:
        stream.close()
    yield from _iter_calamine(workbook, sheet, on_total)


def _xlsx_stream(source: Source, sheet):
    import zipfile

    from .xlsx_stream import XlsxStream

    try:
        if not isinstance(source, (str, os.PathLike)):
            source.seek(0)
        return XlsxStream(os.fspath(source) if isinstance(source, os.PathLike) else source, sheet)
    except (KeyError, IndexError, ValueError, OSError, zipfile.BadZipFile):
        return None


def _iter_calamine(workbook, sheet: int | str, on_total=None):
    with workbook:
        worksheet = _sheet(workbook, sheet)
        if on_total is not None:
            on_total(worksheet.height)
        start = worksheet.start
        if start is None:  # the sheet has no cells at all
            return
        # Experimentally (python-calamine 0.9.1) iter_rows() yields the leading
        # empty rows, so enumerating from 1 gives Excel's row numbers, but it
        # drops leading empty *columns*. Put those back so index 0 is always
        # column A; tests pin both behaviours in case an upgrade changes them.
        column_padding = [None] * start[1]
        for row_number, row in enumerate(worksheet.iter_rows(), start=1):
            yield row_number, column_padding + [None if value == "" else value for value in row]


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------


def _detect_encoding(binary) -> str:
    """Pick the first encoding that decodes the whole file.

    The whole file is checked, in chunks, because GBK exports often start
    with pure-ASCII rows (phone numbers, dates) and only hit Chinese names
    thousands of lines later; a sample could pick the wrong codec.
    """
    for encoding in CSV_ENCODINGS:
        binary.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := binary.read(_CHUNK_SIZE):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        binary.seek(0)
        return encoding
    raise FileReadError(
        _('The CSV file is not UTF-8 or GB18030 encoded; save it as "CSV UTF-8" and upload again.'),
        code="unknown_encoding",
    )


def _iter_csv(source: Source) -> Iterator[tuple[int, list]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as binary:
            encoding = _detect_encoding(binary)
        with open(source, encoding=encoding, newline="") as text:
            yield from _iter_csv_text(text)
    elif isinstance(source, io.TextIOBase):  # already decoded, e.g. StringIO
        source.seek(0)
        yield from _iter_csv_text(source)
    else:
        source.seek(0)
        encoding = _detect_encoding(source)
        # Decode line by line instead of wrapping in io.TextIOWrapper, which
        # would close the caller's upload when it is closed or collected, and
        # which not every upload object supports. Splitting the raw bytes on
        # b"\n" is safe: neither UTF-8 nor GB18030 uses 0x0A inside a
        # multi-byte character.
        yield from _iter_csv_text(codecs.iterdecode(source, encoding))


def _iter_csv_text(text) -> Iterator[tuple[int, list]]:
    reader = csv.reader(text)
    width = 0
    # Count records rather than using reader.line_num: a quoted cell with a
    # line break is still one row in Excel.
    try:
        for row_number, record in enumerate(reader, start=1):
            values = [None if value == "" else value for value in record]
            if row_number == HEADER_ROW:
                width = len(values)
            elif len(values) < width:
                values.extend([None] * (width - len(values)))
            yield row_number, values
    except csv.Error as exc:
        raise FileReadError(
            _("The CSV file is malformed near line %(line)s: %(error)s"),
            code="malformed_csv",
            params={"line": reader.line_num, "error": str(exc)},
        ) from exc
