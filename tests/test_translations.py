"""Every string of ours has a Simplified Chinese translation, and the committed .mo matches it."""

import ast
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def _po_entries(path):
    """(msgid, msgid_plural, [msgstr...]) of a .po file; header and obsolete entries skipped."""
    entries, current, field = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if current and current["msgid"]:
                entries.append(current)
            if not line:
                current, field = None, None
            continue
        current = current or {"msgid": "", "msgid_plural": "", "msgstr": {}, "ctx": ""}
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, int):
                current["msgstr"][field] += value
            else:
                current[field] += value
            continue
        keyword, _, rest = line.partition(" ")
        value = ast.literal_eval(rest)
        if keyword == "msgctxt":
            field = "ctx"
        elif keyword in ("msgid", "msgid_plural"):
            field = keyword
        else:  # msgstr or msgstr[N]
            field = int(keyword[7:-1]) if "[" in keyword else 0
            current["msgstr"][field] = ""
            current["msgstr"][field] += value
            continue
        current[field] = value
    return [e for e in entries if e["msgid"]]


def test_every_string_has_a_chinese_translation():
    untranslated = [e["msgid"] for e in _po_entries(LOCALE / "django.po")
                    if not e["msgstr"].get(0)]
    assert untranslated == []


def test_the_compiled_catalogue_matches_its_source():
    with open(LOCALE / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        e["msgid"]
        for e in _po_entries(LOCALE / "django.po")
        if not e["msgid_plural"] and not e["ctx"] and compiled.gettext(e["msgid"]) != e["msgstr"][0]
    ]
    assert stale == []
