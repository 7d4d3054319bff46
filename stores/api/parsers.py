"""The till API's JSON parser: exact numbers, bounded nesting, every failure a 400.

- Numbers with a fraction are read as Decimal from their own digits, never through a binary
  float: `"amount": 12.5` means exactly 12.50 and `12.345` keeps its third decimal (so the
  money field refuses it), whereas a float would have been rounded before anyone looked.
- A till's body is a few levels deep (body -> lines -> line -> value). Deeper input is refused
  as malformed: `[[[[...` 50,000 deep would otherwise exhaust the recursion limit (a 500), and
  anything past a few dozen levels is an attack or a bug, never a sale.
- NaN and Infinity are not JSON and are refused like any other malformed body.
"""

import codecs
import json
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest a till's body may be; API.md's bodies are at most 4 levels deep.
MAX_JSON_DEPTH = 16


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def too_deep(data, limit=MAX_JSON_DEPTH):
    """Whether `data` nests lists and objects more than `limit` levels (walked with a stack,
    so checking it cannot itself run out of recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class TillJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_float=Decimal,
                parse_constant=_refuse_constant,
            )
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
        except (ValueError, LookupError) as exc:  # bad JSON, bad UTF-8, unknown charset
            raise ParseError(_("Malformed JSON: %(error)s") % {"error": exc}) from None
        if too_deep(data):
            raise ParseError(
                _("The JSON body is nested more than %(limit)d levels deep.")
                % {"limit": MAX_JSON_DEPTH}
            )
        return data
