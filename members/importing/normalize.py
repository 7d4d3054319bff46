"""Normalise messy cell values coming from legacy POS spreadsheet exports.

Every ``normalize_*`` function takes one raw cell value as produced by
:mod:`members.importing.reader` (``str``, ``int``, ``float``, ``Decimal``,
``datetime.date``/``datetime.datetime``, ``bool`` or ``None``) and either
returns a clean value or raises :class:`RowError`.

The module is deliberately free of Django model imports so it can be unit
tested (and reused by management commands or Celery tasks) without a database.
Error messages are English source strings wrapped in ``gettext_lazy`` and are
interpolated lazily, so raising a ``RowError`` never needs configured settings;
the text is only rendered when the message is turned into ``str``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ImportDataError",
    "RowError",
    "is_blank_row",
    "normalize_birthday",
    "normalize_gender",
    "normalize_money",
    "normalize_phone",
    "normalize_points",
    "normalize_text",
]


def _format_message(template, params):
    text = str(template)
    return text % params if params else text


# ``gettext_lazy(...) % params`` would translate immediately (and so require
# settings); wrapping the interpolation in ``lazy`` keeps it deferred.
_lazy_format = lazy(_format_message, str)


class ImportDataError(ValueError):
    """Base class for import problems that are reported to the user.

    ``message`` is a lazy string (rendered in the active language when
    ``str()`` is called on it), ``code`` is a stable machine-readable
    identifier and ``params`` holds the values interpolated into the message,
    mirroring :class:`django.core.exceptions.ValidationError`.
    """

    def __init__(self, message, *, code: str | None = None, params: dict | None = None):
        self.code = code
        self.params = params or {}
        self.message = _lazy_format(message, self.params) if self.params else message
        super().__init__(self.message)


class RowError(ImportDataError):
    """A single cell/row cannot be imported; other rows may still be fine."""


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

# Chinese IMEs happily produce full-width digits and punctuation (＋８６ １３８…,
# １，２００, ￥１２). Map the whole full-width ASCII block (U+FF01..U+FF5E) onto
# ASCII instead of using NFKC, which would also turn things like "①" or "²"
# into digits and silently accept garbage.
_FULLWIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH_TABLE.update(
    {
        0x3000: " ",  # ideographic space
        0xFFE5: "¥",  # full-width yen/yuan sign
        0x2010: "-",  # various dashes people paste into phone numbers
        0x2011: "-",
        0x2012: "-",
        0x2013: "-",
        0x2014: "-",
        0x2015: "-",
        0x2212: "-",  # minus sign
    }
)
# Zero-width characters and BOMs survive copy/paste from web pages and
# WeChat; they are invisible to the user but break parsing.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_TABLE = dict.fromkeys(map(ord, _INVISIBLE))
_EDGE_JUNK_RE = re.compile(rf"^[\s{_INVISIBLE}]+|[\s{_INVISIBLE}]+$")

# Thousands separators must be well formed ("1,200" but not "12,00", which
# could be a European decimal comma). [0-9] rather than \d: \d also matches
# e.g. Arabic-Indic digits, which int()/Decimal() would accept.
_INTEGER_PATTERN = r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+"

_DISPLAY_LIMIT = 50


def _strip(value: str) -> str:
    """Strip whitespace and invisible characters from both ends."""
    if value and not (
        value[0].isspace()
        or value[-1].isspace()
        or value[0] in _INVISIBLE
        or value[-1] in _INVISIBLE
    ):
        return value  # the common case, without the regex (a big import strips millions)
    return _EDGE_JUNK_RE.sub("", value)


def _fold(value: str) -> str:
    """Fold full-width characters to ASCII and drop invisible characters.

    Only used for values that are numbers/codes, never for free text.
    """
    return _strip(value.translate(_FULLWIDTH_TABLE).translate(_INVISIBLE_TABLE))


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and _strip(value) == "")


def _is_number(value) -> bool:
    # bool is a subclass of int; a TRUE/FALSE cell is never a number here.
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _display(value) -> str:
    """Render a raw cell for an error message (short, no float noise)."""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    elif isinstance(value, str):
        text = _strip(value)
    else:
        text = str(value)
    if len(text) > _DISPLAY_LIMIT:
        text = text[: _DISPLAY_LIMIT - 1] + "…"
    return text


def _integral_str(value) -> str | None:
    """Digits of an integral numeric cell, or None if it has a fraction."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None  # nan/inf -> False
    if value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return None


# --------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------

_PHONE_RE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()]")
# Excel writes long numbers as "1.3812345678E+10" when a CSV is saved from a
# numeric column.
_SCIENTIFIC_RE = re.compile(r"([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})")
# A numeric column exported to CSV by some tools: "13812345678.0".
_ZERO_FRACTION_RE = re.compile(r"([0-9]+)\.0+")


def _invalid_phone(value) -> RowError:
    return RowError(
        _("Invalid mobile phone number: %(value)s"),
        code="invalid_phone",
        params={"value": _display(value)},
    )


def normalize_phone(value) -> str:
    """Return an 11-digit mainland China mobile number ("13812345678").

    Accepts separators (spaces, dashes, dots, parentheses), a +86/86/0086
    country prefix, full-width characters, numeric cells and Excel's
    scientific notation, as long as no digit has been lost.
    """
    if _is_blank(value):
        raise RowError(_("Mobile phone number is required."), code="phone_required")
    if _is_number(value):
        digits = _integral_str(value)
        if digits is None:
            raise _invalid_phone(value)
    elif isinstance(value, str):
        text = _fold(value)
        scientific = _SCIENTIFIC_RE.fullmatch(text)
        zero_fraction = _ZERO_FRACTION_RE.fullmatch(text)
        if scientific:
            lead, fraction, exponent = (
                scientific.group(1),
                scientific.group(2) or "",
                int(scientific.group(3)),
            )
            if exponent < len(fraction):
                raise _invalid_phone(value)
            if exponent > len(fraction):
                # "1.38123E+10": Excel only kept 6 significant digits and the
                # remaining ones would be invented zeros. A real number ending
                # in zeros looks the same, so refuse rather than guess.
                raise RowError(
                    _(
                        "Mobile phone number %(value)s is in scientific notation and has lost "
                        "digits; format the column as text and export the file again."
                    ),
                    code="phone_precision_lost",
                    params={"value": _display(value)},
                )
            digits = lead + fraction
        elif zero_fraction:
            digits = zero_fraction.group(1)
        else:
            digits = _PHONE_SEPARATORS_RE.sub("", text)
    else:
        raise _invalid_phone(value)

    match = _PHONE_RE.fullmatch(digits)
    if not match:
        raise _invalid_phone(value)
    return match.group(1)


# --------------------------------------------------------------------------
# Birthday
# --------------------------------------------------------------------------

# "1990-01-02", "1990/1/2", "1990.1.2"; the same separator must be used twice.
# An optional time part is tolerated because CSVs exported from a datetime
# column look like "1990-01-02 00:00:00".
_SEPARATED_DATE_RE = re.compile(
    r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})"
    r"(?:[ T](?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?"
)
_CHINESE_DATE_RE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?")
_COMPACT_DATE_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_WHITESPACE_RE = re.compile(r"\s+")

MIN_BIRTH_YEAR = 1900
EXCEL_SERIAL_MIN = 1
EXCEL_SERIAL_MAX = 60000
# Serial 1 is 1900-01-01. Excel (copying Lotus 1-2-3) believes 1900 was a
# leap year, so serial 60 is the non-existent 1900-02-29 and every later serial
# is one day too high.
_EXCEL_EPOCH = dt.date(1899, 12, 31)
_EXCEL_FAKE_LEAP_DAY = 60


def _invalid_birthday(value) -> RowError:
    return RowError(
        _("Invalid birthday: %(value)s"),
        code="invalid_birthday",
        params={"value": _display(value)},
    )


def _date_from_parts(value, year: str | int, month: str | int, day: str | int) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:  # 1990-02-30, month 13, year 0 ...
        raise _invalid_birthday(value) from None


def _date_from_excel_serial(value, serial: int) -> dt.date:
    if serial == _EXCEL_FAKE_LEAP_DAY:
        raise _invalid_birthday(value)
    if serial > _EXCEL_FAKE_LEAP_DAY:
        serial -= 1
    return _EXCEL_EPOCH + dt.timedelta(days=serial)


def _date_from_number(value) -> dt.date:
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid_birthday(value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise _invalid_birthday(value)
    if EXCEL_SERIAL_MIN <= value <= EXCEL_SERIAL_MAX:
        # A fractional serial is a date plus a time of day; the time is
        # irrelevant for a birthday, just as for a datetime cell.
        return _date_from_excel_serial(value, math.floor(value))
    # Numeric columns holding yyyymmdd (19900102) are common in POS exports
    # and cannot be confused with serials, which stop at 60000.
    digits = _integral_str(value)
    if digits is not None:
        compact = _COMPACT_DATE_RE.fullmatch(digits)
        if compact:
            return _date_from_parts(value, *compact.groups())
    raise _invalid_birthday(value)


def _date_from_string(value: str) -> dt.date:
    text = _WHITESPACE_RE.sub(" ", _fold(value))
    separated = _SEPARATED_DATE_RE.fullmatch(text)
    if separated:
        year, _separator, month, day = separated.groups()
        return _date_from_parts(value, year, month, day)
    for pattern in (_CHINESE_DATE_RE, _COMPACT_DATE_RE):
        match = pattern.fullmatch(text.replace(" ", ""))
        if match:
            return _date_from_parts(value, *match.groups())
    raise _invalid_birthday(value)


def normalize_birthday(value, *, today: dt.date | None = None) -> dt.date | None:
    """Return the birthday as a ``date``, or ``None`` for a blank cell.

    ``today`` is the upper bound for a valid birthday (defaults to the
    system date; pass ``timezone.localdate()`` from Django code).
    """
    if _is_blank(value):
        return None
    if isinstance(value, dt.datetime):  # check before date: datetime is a date
        birthday = value.date()
    elif isinstance(value, dt.date):
        birthday = value
    elif _is_number(value):
        birthday = _date_from_number(value)
    elif isinstance(value, str):
        birthday = _date_from_string(value)
    else:
        raise _invalid_birthday(value)

    if birthday.year < MIN_BIRTH_YEAR:
        raise RowError(
            _("Birthday %(value)s is before 1900."),
            code="birthday_too_old",
            params={"value": birthday.isoformat()},
        )
    if birthday > (today or dt.date.today()):
        raise RowError(
            _("Birthday %(value)s is in the future."),
            code="birthday_in_future",
            params={"value": birthday.isoformat()},
        )
    return birthday


# --------------------------------------------------------------------------
# Gender
# --------------------------------------------------------------------------

GENDER_MALE = "M"
GENDER_FEMALE = "F"
GENDER_UNKNOWN = "U"

# Keys are compared after full-width folding and lower-casing.
_GENDERS = {
    "男": GENDER_MALE,
    "先生": GENDER_MALE,
    "m": GENDER_MALE,
    "male": GENDER_MALE,
    "女": GENDER_FEMALE,
    "女士": GENDER_FEMALE,
    "f": GENDER_FEMALE,
    "female": GENDER_FEMALE,
    "未知": GENDER_UNKNOWN,
    "u": GENDER_UNKNOWN,
}


def normalize_gender(value) -> str:
    """Return "M", "F" or "U" (unknown; also used for blank cells)."""
    if _is_blank(value):
        return GENDER_UNKNOWN
    if isinstance(value, str):
        gender = _GENDERS.get(_fold(value).lower())
        if gender is not None:
            return gender
    # Numeric codes (0/1/2) mean different things in different POS systems,
    # so they are rejected rather than guessed.
    raise RowError(
        _("Invalid gender: %(value)s"),
        code="invalid_gender",
        params={"value": _display(value)},
    )


# --------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------

# Upper bound of a PositiveIntegerField on every supported database; anything
# larger is certainly a data error (e.g. a phone number in the wrong column).
MAX_POINTS = 2_147_483_647

_POINTS_RE = re.compile(rf"(-)?({_INTEGER_PATTERN})(?:\.([0-9]+))?")


def _points_error(value, code: str) -> RowError:
    messages = {
        "invalid_points": _("Invalid points value: %(value)s"),
        "negative_points": _("Points cannot be negative: %(value)s"),
        "fractional_points": _("Points must be a whole number: %(value)s"),
        "points_too_large": _("Points value is too large: %(value)s"),
    }
    return RowError(messages[code], code=code, params={"value": _display(value)})


def normalize_points(value) -> int:
    """Return a non-negative whole number of points (blank -> 0)."""
    if _is_blank(value):
        return 0
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise _points_error(value, "invalid_points")
        if isinstance(value, Decimal) and not value.is_finite():
            raise _points_error(value, "invalid_points")
        if value < 0:
            raise _points_error(value, "negative_points")
        digits = _integral_str(value)
        if digits is None:
            raise _points_error(value, "fractional_points")
        points = int(digits)
    elif isinstance(value, str):
        match = _POINTS_RE.fullmatch(_fold(value))
        if not match:
            raise _points_error(value, "invalid_points")
        sign, integer, fraction = match.groups()
        if sign:
            raise _points_error(value, "negative_points")
        if fraction and fraction.strip("0"):
            raise _points_error(value, "fractional_points")
        points = int(integer.replace(",", ""))
    else:
        raise _points_error(value, "invalid_points")

    if points > MAX_POINTS:
        raise _points_error(value, "points_too_large")
    return points


# --------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------

CENT = Decimal("0.01")

_MONEY_RE = re.compile(
    rf"(-)?\s*(?:¥|RMB|CNY)?\s*(-)?({_INTEGER_PATTERN})(?:\.([0-9]+))?\s*(?:元)?",
    re.IGNORECASE,
)


def _money_error(value, code: str) -> RowError:
    messages = {
        "invalid_money": _("Invalid amount: %(value)s"),
        "negative_money": _("Amount cannot be negative: %(value)s"),
        "money_precision": _("Amount has more than 2 decimal places: %(value)s"),
    }
    return RowError(messages[code], code=code, params={"value": _display(value)})


def _to_cents(value, amount: Decimal) -> Decimal:
    """Quantize to 2 places, refusing to round away real digits."""
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:  # too many digits for the decimal context
        raise _money_error(value, "invalid_money") from None
    if cents != amount:
        raise _money_error(value, "money_precision")
    return cents


def normalize_money(value) -> Decimal:
    """Return a non-negative amount as a ``Decimal`` with exactly 2 places.

    Strings are parsed exactly (never via float). Digits beyond the second
    decimal place are only accepted when they are zeros ("12.500"), so
    rounding can never hide data. Float cells are the one exception: Excel
    stores e.g. 19.99 computed by a formula as 19.990000000000002, so a float
    that is within binary floating-point noise of a 2-place value is accepted
    as that value.
    """
    if _is_blank(value):
        return Decimal("0.00")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _money_error(value, "invalid_money")
        if value < 0:
            raise _money_error(value, "negative_money")
        # repr() is the shortest string that round-trips, i.e. what Excel shows.
        amount = Decimal(repr(value))
        try:
            cents = amount.quantize(CENT)
        except InvalidOperation:
            raise _money_error(value, "invalid_money") from None
        # rel_tol 1e-14 is ~50 ulps: enough for formula noise, far too small
        # to swallow a real third decimal on any realistic amount.
        if cents != amount and not math.isclose(value, float(cents), rel_tol=1e-14, abs_tol=1e-12):
            raise _money_error(value, "money_precision")
        return abs(cents)  # abs() turns -0.0 into 0.00
    if _is_number(value):  # int or Decimal
        amount = Decimal(value)
        if not amount.is_finite():
            raise _money_error(value, "invalid_money")
        if amount < 0:
            raise _money_error(value, "negative_money")
        return abs(_to_cents(value, amount))
    if not isinstance(value, str):
        raise _money_error(value, "invalid_money")

    match = _MONEY_RE.fullmatch(_fold(value))
    if not match:
        raise _money_error(value, "invalid_money")
    sign_before, sign_after, integer, fraction = match.groups()
    if sign_before or sign_after:
        raise _money_error(value, "negative_money")
    amount = Decimal(integer.replace(",", "") + "." + (fraction or "0"))
    return _to_cents(value, amount)


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------


def normalize_text(value, max_length: int | None = None) -> str:
    """Return the cell as stripped text ("" for blank cells).

    Numeric cells lose Excel's float artefacts (13812345678.0 -> "13812345678"),
    dates become ISO strings. Full-width characters are kept as typed: this is
    free text such as names and addresses.
    """
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"  # what Excel displays
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, Decimal):
        digits = _integral_str(value)
        text = digits if digits is not None else format(value, "f")
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    elif isinstance(value, str):
        text = _strip(value)
    else:
        text = _strip(str(value))

    if max_length is not None and len(text) > max_length:
        raise RowError(
            _(
                "Text is too long (%(length)d characters, at most %(max_length)d allowed): "
                "%(value)s"
            ),
            code="text_too_long",
            params={"length": len(text), "max_length": max_length, "value": _display(text)},
        )
    return text


def is_blank_row(values: Iterable) -> bool:
    """True if every cell is empty or whitespace (an empty row counts too)."""
    return all(_is_blank(value) for value in values)
