"""Read an .xlsx sheet row by row in constant memory.

calamine (members.importing.reader) parses a whole sheet into memory when it opens it: about
950 MB for a 1,000,000-row member file, before Python holds a single row. For big workbooks
this module streams the sheet instead: the sheet's XML is decompressed a megabyte at a time
and cut into rows and cells with regular expressions (the C regex engine does the scanning),
so memory is the shared-string table plus one buffer, whatever the sheet's height.

What it understands of SpreadsheetML (ECMA-376), which is what Excel, WPS, LibreOffice and
openpyxl write: shared strings (rich-text runs joined, phonetic runs left out), inline strings,
formula results (cached values), booleans, error cells, numbers, and numbers whose cell style
is a date or time format (built-in or custom) as datetimes, in the 1900 or 1904 date system.
Cells come back as the calamine reader gives them: str, int, float, bool, datetime or None,
with column A at index 0 and rows numbered as Excel shows them.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import zipfile
from html import unescape
from xml.etree import ElementTree

_CHUNK = 1 << 20
_NS = r"(?:[\w.-]+:)?"
_ROW = re.compile(rf"<{_NS}row\b([^>]*?)(?:/>|>(.*?)</{_NS}row>)", re.S)
_CELL = re.compile(rf"<{_NS}c\b([^>]*?)(?:/>|>(.*?)</{_NS}c>)", re.S)
_VALUE = re.compile(rf"<{_NS}v>(.*?)</{_NS}v>", re.S)
_TEXT = re.compile(rf"<{_NS}t\b[^>]*?(?:/>|>(.*?)</{_NS}t>)", re.S)
_PHONETIC = re.compile(rf"<{_NS}rPh\b.*?</{_NS}rPh>", re.S)
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
# The cells as Excel, WPS, LibreOffice and openpyxl write nearly all of them (attributes r, s,
# t in that order; a value, or an inline string of one run): read by one regular expression
# per row, with no per-cell attribute parsing. A row with any other cell (a formula, rich
# text, a namespace prefix, whitespace between attributes) is read by the general path.
_PLAIN_CELL = re.compile(
    r'<c r="([A-Z]+)[0-9]+"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?'
    r"(?:/>|>(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>)?</c>)"
)
_ROW_NUMBER = re.compile(r'\br="([0-9]+)"')
_ANY_CELL = re.compile(rf"<{_NS}c[\s/>]")  # every cell tag, with a namespace prefix or not
_REF = re.compile(r"([A-Z]+)(\d+)")
_DIMENSION = re.compile(r'<(?:[\w.-]+:)?dimension\b[^>]*\bref="[A-Z]*\d*:?([A-Z]*)(\d+)"')
# Built-in number formats that are dates or times (ECMA-376 18.8.30 and the CJK locales).
_DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _attrs(text):
    return {name.rsplit(":", 1)[-1]: value for name, value in _ATTR.findall(text)}


def _column_index(letters):
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _is_date_format(code):
    code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", code)  # quoted, [colour], escapes
    return bool(re.search(r"[dmyhs]|年|月|日", code, re.I))


class XlsxStream:
    """The first sheet (or the sheet of a given index or name) of an .xlsx file (a path or a
    binary file object), read row by row: `for row_number, values in XlsxStream(f).rows()`."""

    def __init__(self, source, sheet=0):
        self.zip = zipfile.ZipFile(source)
        names = set(self.zip.namelist())
        self.path, self.date1904 = self._sheet_path(sheet, names)
        self.names = names
        self.strings = self.date_styles = None  # read by rows(): opening costs nothing more
        self.height = self.width = 0
        self.columns = {}  # column letters -> index, as met
        # How big the sheet is once decompressed: small ones are faster read whole by calamine.
        self.size = self.zip.getinfo(self.path).file_size

    def close(self):
        self.zip.close()

    # --- workbook parts ----------------------------------------------------------------

    def _sheet_path(self, sheet, names):
        workbook = self.zip.read("xl/workbook.xml").decode("utf-8")
        sheets = [_attrs(m.group(1)) for m in re.finditer(rf"<{_NS}sheet\b([^>]*?)/?>", workbook)]
        if isinstance(sheet, str):
            chosen = next((s for s in sheets if s.get("name") == sheet), None)
        else:
            chosen = sheets[sheet] if 0 <= sheet < len(sheets) else None
        if chosen is None:
            raise KeyError(sheet)
        rels = self.zip.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        target = None
        for m in re.finditer(rf"<{_NS}Relationship\b([^>]*?)/?>", rels):
            rel = _attrs(m.group(1))
            if rel.get("Id") == chosen.get("id"):
                target = rel.get("Target", "")
        if target is None:
            raise KeyError(sheet)
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        path = re.sub(r"[^/]+/\.\./", "", path)
        if path not in names:
            raise KeyError(sheet)
        pr = re.search(rf"<{_NS}workbookPr\b([^>]*?)/?>", workbook)
        date1904 = bool(pr) and _attrs(pr.group(1)).get("date1904") in ("1", "true")
        return path, date1904

    def _shared_strings(self, names):
        if "xl/sharedStrings.xml" not in names:
            return []
        strings = []
        with self.zip.open("xl/sharedStrings.xml") as handle:
            for _event, element in ElementTree.iterparse(handle):
                if element.tag.rsplit("}", 1)[-1] != "si":
                    continue
                parts = []
                for child in element:
                    tag = child.tag.rsplit("}", 1)[-1]
                    if tag == "t":
                        parts.append(child.text or "")
                    elif tag == "r":  # a rich-text run: its <t>
                        for sub in child:
                            if sub.tag.rsplit("}", 1)[-1] == "t":
                                parts.append(sub.text or "")
                strings.append("".join(parts))
                element.clear()
        return strings

    def _date_styles(self, names):
        """The cell style indexes (s="n") whose number format is a date or time."""
        if "xl/styles.xml" not in names:
            return set()
        styles = self.zip.read("xl/styles.xml").decode("utf-8")
        custom = {
            int(a["numFmtId"]): unescape(a.get("formatCode", ""))
            for a in (
                _attrs(m.group(1)) for m in re.finditer(rf"<{_NS}numFmt\b([^>]*?)/?>", styles)
            )
            if "numFmtId" in a
        }
        xfs = re.search(rf"<{_NS}cellXfs\b[^>]*>(.*?)</{_NS}cellXfs>", styles, re.S)
        dates = set()
        if xfs:
            for index, m in enumerate(re.finditer(rf"<{_NS}xf\b([^>]*?)(?:/>|>)", xfs.group(1))):
                number_format = int(_attrs(m.group(1)).get("numFmtId", "0"))
                if number_format in _DATE_FORMAT_IDS or (
                    number_format in custom and _is_date_format(custom[number_format])
                ):
                    dates.add(index)
        return dates

    # --- rows --------------------------------------------------------------------------

    def rows(self, on_total=None):
        """Yield (excel_row_number, values) for every row up to the last one with a cell."""
        if self.strings is None:
            self.strings = self._shared_strings(self.names)
            self.date_styles = self._date_styles(self.names)
        decoder = codecs.getincrementaldecoder("utf-8")()
        buffer, next_row, told = "", 1, False
        with self.zip.open(self.path) as handle:
            while True:
                chunk = handle.read(_CHUNK)
                buffer += decoder.decode(chunk, final=not chunk)
                if not told:
                    found = _DIMENSION.search(buffer)
                    if found or "<sheetData" in buffer:
                        if found:
                            self.height = int(found.group(2))
                            self.width = _column_index(found.group(1)) + 1 if found.group(1) else 0
                        if on_total is not None:
                            on_total(self.height)
                        told = True
                end = 0
                for match in _ROW.finditer(buffer):
                    end = match.end()
                    found = _ROW_NUMBER.search(match.group(1))
                    number = int(found.group(1)) if found else next_row
                    while next_row < number:  # rows the file leaves out are blank rows
                        yield next_row, [None] * self.width
                        next_row += 1
                    next_row = number + 1
                    values = self._cells(match.group(2) or "")
                    # Every row as wide as the sheet (as calamine gives them); a sheet that
                    # does not say its size is as wide as its widest row so far.
                    self.width = max(self.width, len(values))
                    if len(values) < self.width:
                        values.extend([None] * (self.width - len(values)))
                    yield number, values
                buffer = buffer[end:]
                if not chunk:
                    return

    def _cells(self, xml):
        plain = _PLAIN_CELL.findall(xml)
        if len(plain) == len(_ANY_CELL.findall(xml)):  # else: x:c, <c> without r, formulas
            return self._plain_cells(plain)
        return self._any_cells(xml)

    def _plain_cells(self, cells):
        values = []
        columns = self.columns
        for letters, style, kind, raw, text in cells:
            if kind == "inlineStr":
                value = (unescape(text) if "&" in text else text) or None
            elif not raw:
                continue  # an empty cell (a style only)
            elif kind == "s":
                value = self.strings[int(raw)] or None
            elif kind in ("", "n"):
                value = self._number(raw, style)
            else:
                value = self._value({"t": kind, "s": style}, f"<v>{raw}</v>")
            if value is None:
                continue
            index = columns.get(letters)
            if index is None:
                index = columns[letters] = _column_index(letters)
            if index >= len(values):
                values.extend([None] * (index + 1 - len(values)))
            values[index] = value
        return values

    def _number(self, raw, style):
        number = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if style and int(style) in self.date_styles:
            epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
            moment = epoch + dt.timedelta(days=number)
            return moment.date() if moment.time() == dt.time() else moment  # as calamine
        return number

    def _any_cells(self, xml):
        values = []
        for match in _CELL.finditer(xml):
            attrs = _attrs(match.group(1))
            ref = _REF.match(attrs.get("r", ""))
            index = _column_index(ref.group(1)) if ref else len(values)
            value = self._value(attrs, match.group(2) or "")
            if value is None:
                continue
            if index >= len(values):
                values.extend([None] * (index + 1 - len(values)))
            values[index] = value
        return values

    def _value(self, attrs, inner):
        kind = attrs.get("t", "n")
        if kind == "inlineStr":
            text = "".join(t or "" for t in _TEXT.findall(_PHONETIC.sub("", inner)))
            return unescape(text) or None
        found = _VALUE.search(inner)
        if found is None:
            return None
        raw = found.group(1)
        if kind == "s":
            text = self.strings[int(raw)]
            return text if text != "" else None
        if kind in ("str", "e"):
            text = unescape(raw)
            return text if text != "" else None
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":  # an ISO 8601 date or time (strict Open XML)
            try:
                moment = dt.datetime.fromisoformat(raw.strip())
            except ValueError:
                return raw.strip() or None  # the text as written: the normalizer says what is wrong
            return moment.date() if moment.time() == dt.time() else moment
        return self._number(raw, attrs.get("s"))
