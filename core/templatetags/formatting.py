"""Numbers in pages the way a finance team reads them, in every language: money with two
decimals and thousands separators (12,345.60), counts with thousands separators (1,234,567).

Django's own `floatformat:"2g"` follows the locale, and zh-hans has no thousands separator
(its grouping is by 万), so pages would show 1234567.00: these filters do not follow it.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

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
    """12345.6 -> "12,345.60"; empty stays empty."""
    number = _decimal(value)
    if number is None:
        return ""
    return f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


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
