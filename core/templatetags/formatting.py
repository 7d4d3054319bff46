"""`{% load formatting %}`: numbers in pages the way a finance team reads them, in every
language. `{{ amount|money }}` -> 14,154.24, `{{ amount|yuan }}` -> ¥14,154.24,
`{{ count|number }}` -> 1,234,567, `{{ share|percent }}` -> 12.3%, `{{ seconds|duration }}` ->
1 分 5 秒 (core.formatting).

Django's own `floatformat:"2g"` follows the locale, and zh-hans has no thousands separator
(its grouping is by 万), so pages would show 1234567.00: these filters do not follow it.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

from core.formatting import format_duration, format_money

register = template.Library()


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


@register.filter
def money(value):
    """12345.6 -> "12,345.60"; empty (or not a number) stays empty."""
    return format_money(value) if _decimal(value) is not None else ""


@register.filter
def yuan(value):
    return format_money(value, currency=True) if _decimal(value) is not None else ""


@register.filter
def number(value):
    """1234567 -> "1,234,567" (rounded to a whole number); empty stays empty."""
    number = _decimal(value)
    if number is None:
        return ""
    return f"{number.quantize(Decimal('1'), rounding=ROUND_HALF_UP):,.0f}"


@register.filter
def percent(value, places=1):
    """0.1234 -> "12.3%"; empty stays empty."""
    number = _decimal(value)
    if number is None:
        return ""
    return f"{number * 100:,.{int(places)}f}%"


@register.filter
def duration(value):
    return format_duration(value)
