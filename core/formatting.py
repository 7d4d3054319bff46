"""How numbers read in pages: money with two decimals and thousands separators, durations
in words. (Excel cells stay numbers, with a number format: see core.excel.)

Explicit rather than USE_THOUSAND_SEPARATOR: that setting would also group every integer a
template prints, ids in hidden inputs and links included, and the numbers CSV exports write.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.money import CENT


def format_money(value, *, currency=False):
    """14154.2400000000 -> "14,154.24" ("¥14,154.24" with `currency`); None -> ""."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    if currency:
        return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"
    return text


def format_duration(seconds):
    """0.306 -> "under a second", 65 -> "1 min 5 s", 3725 -> "1 h 2 min" (translated)."""
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 1:
        return _("under a second")
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": secs}
    return _("%(seconds)d s") % {"seconds": secs}
