"""Segment definitions: conditions joined with AND / OR / NOT, checked and compiled to one SQL
condition over the member, their home store and their statistics.

A definition is JSON:

    {"all": [node, ...]}      every node holds (AND); an empty list matches every member
    {"any": [node, ...]}      at least one holds (OR)
    {"not": node}             the node does not hold
    {"field": "visits_90", "cmp": ">=", "value": 3}      one condition

Every field comes from FIELDS (a whitelist: nothing a user types becomes SQL), every value is
checked and passed as a parameter. Tiers, stores and tags are named by their codes / names, so
a definition reads the same in every database and its hash names what was meant. Only active
members are ever in a segment.

Conditions about "now" (days since the last visit, lapse stage, birthdays, no purchase in N
days) are evaluated at the moment given (`at`), from the member's own last visit, which every
checkout keeps; the others read the nightly statistics.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from members.models import Member, Tag, Tier
from stores.models import Store

from .models import LapseStage, MemberStats, RfmCell
from .statistics import lapse_case_sql

_STORE = re.compile(r"\bst\.")
_STATS = re.compile(r"\bs\.")
MAX_DEPTH = 6
MAX_CONDITIONS = 60
SAMPLE_SIZE = 20
NUMBER_CMPS = (">=", "<=", ">", "<", "=", "between")


class InvalidSegment(DomainError):
    code = "invalid_segment"
    status = 400
    default_message = gettext_lazy("The segment's conditions are not valid.")


@dataclass(frozen=True)
class Field:
    name: str
    label: object  # lazy text
    group: object
    kind: str  # int, money, choice, codes, days
    sql: str = ""
    cmps: tuple = NUMBER_CMPS
    choices: tuple = ()  # (value, label) for choice fields
    minimum: int = 0
    maximum: int | None = None
    extra: dict = field(default_factory=dict)


STATS = gettext_lazy("Statistics")
PROFILE = gettext_lazy("Profile")
TIMING = gettext_lazy("Visits and dates")


def _tz():
    return settings.TIME_ZONE


def _fields():
    tz = _tz()
    days_since = f"(%s::date - (m.last_visit_at AT TIME ZONE '{tz}')::date)"
    number = [
        ("visits_30", gettext_lazy("visits in 30 days"), "int"),
        ("visits_90", gettext_lazy("visits in 90 days"), "int"),
        ("visits_365", gettext_lazy("visits in 365 days"), "int"),
        ("spend_30", gettext_lazy("spend in 30 days (yuan)"), "money"),
        ("spend_90", gettext_lazy("spend in 90 days (yuan)"), "money"),
        ("spend_365", gettext_lazy("spend in 365 days (yuan)"), "money"),
        ("points_expiring_30", gettext_lazy("points expiring within 30 days"), "int"),
        ("unused_coupons", gettext_lazy("unused coupons"), "int"),
    ]
    fields = [
        Field(name, label, STATS, kind, sql=f"COALESCE(s.{name}, 0)")
        for name, label, kind in number
    ]
    fields += [
        Field("avg_ticket", gettext_lazy("average ticket (yuan)"), STATS, "money",
              sql="s.avg_ticket"),
        Field("median_gap_days", gettext_lazy("median days between visits"), STATS, "money",
              sql="s.median_gap_days"),
        Field("r_score", gettext_lazy("R score (1–5)"), STATS, "int", sql="s.r_score",
              minimum=1, maximum=5),
        Field("f_score", gettext_lazy("F score (1–5)"), STATS, "int", sql="s.f_score",
              minimum=1, maximum=5),
        Field("m_score", gettext_lazy("M score (1–5)"), STATS, "int", sql="s.m_score",
              minimum=1, maximum=5),
        Field("rfm_cell", gettext_lazy("RFM cell"), STATS, "choice", sql="s.rfm_cell",
              cmps=("in",), choices=tuple(RfmCell.choices)),
        Field("visits_to_next_tier", gettext_lazy("visits short of the next tier"), STATS,
              "int", sql="s.visits_to_next_tier", minimum=1),
        Field("days_since_last_visit", gettext_lazy("days since the last visit"), TIMING, "int",
              sql=days_since, extra={"today": True}),
        Field("no_purchase_days", gettext_lazy("no purchase in the last N days"), TIMING,
              "days", cmps=(">=",), minimum=1, maximum=3650),
        Field("lapse_stage", gettext_lazy("lapse stage"), TIMING, "choice",
              cmps=("in",), choices=tuple(LapseStage.choices), extra={"lapse": True}),
        Field("birthday_month", gettext_lazy("birthday month"), TIMING, "choice",
              sql="EXTRACT(MONTH FROM m.birthday)::int", cmps=("in",),
              choices=tuple((m, str(m)) for m in range(1, 13))),
        Field("birthday_within", gettext_lazy("birthday within N days (0: today)"), TIMING,
              "days", cmps=("<=",), minimum=0, maximum=366),
        Field("tier", gettext_lazy("tier"), PROFILE, "codes", sql="m.tier_id", cmps=("in",)),
        Field("home_store", gettext_lazy("home store"), PROFILE, "codes",
              sql="m.home_store_id", cmps=("in",)),
        Field("favourite_store", gettext_lazy("favourite store"), STATS, "codes",
              sql="s.favourite_store_id", cmps=("in",)),
        Field("store_kind", gettext_lazy("home store is"), PROFILE, "choice", sql="st.kind",
              cmps=("in",), choices=tuple(Store.Kind.choices)),
        Field("tag", gettext_lazy("tag"), PROFILE, "codes", cmps=("in",)),
        Field("gender", gettext_lazy("gender"), PROFILE, "choice", sql="m.gender",
              cmps=("in",), choices=tuple(Member.Gender.choices)),
    ]  # fmt: skip
    return {f.name: f for f in fields}


FIELDS = _fields()


def _code_lookup(field_name):
    """{code: id} of the tiers, stores or tags a `codes` field names."""
    if field_name == "tier":
        return dict(Tier.objects.values_list("code", "pk"))
    if field_name == "tag":
        return dict(Tag.objects.values_list("name", "pk"))
    return dict(Store.objects.values_list("code", "pk"))


def code_choices(field_name):
    """(code, label) of a `codes` field, for the editor."""
    if field_name == "tier":
        return [(t.code, t.name) for t in Tier.objects.order_by("rank")]
    if field_name == "tag":
        names = Tag.objects.order_by("name").values_list("name", flat=True)
        return [(name, name) for name in names]
    return [(s.code, str(s)) for s in Store.objects.order_by("code")]


# --- checking -----------------------------------------------------------------------------------


class _Checker:
    def __init__(self):
        self.errors = []
        self.conditions = 0
        self.codes = {}

    def refuse(self, path, message):
        self.errors.append(f"{path}: {message}" if path else message)

    def node(self, node, path, depth):
        if depth > MAX_DEPTH:
            self.refuse(path, _("Groups are nested too deeply (at most %(n)d levels).")
                        % {"n": MAX_DEPTH})  # fmt: skip
            return None
        if not isinstance(node, dict):
            self.refuse(path, _("Each condition is an object."))
            return None
        groups = [key for key in ("all", "any", "not") if key in node]
        if groups:
            if len(node) != 1:
                self.refuse(path, _("A group has exactly one of all, any or not."))
                return None
            key = groups[0]
            if key == "not":
                inner = self.node(node["not"], f"{path}.not" if path else "not", depth + 1)
                return None if inner is None else {"not": inner}
            items = node[key]
            if not isinstance(items, list):
                self.refuse(path, _("A group holds a list of conditions."))
                return None
            checked = [
                self.node(item, f"{path}.{i + 1}" if path else str(i + 1), depth + 1)
                for i, item in enumerate(items)
            ]
            if any(c is None for c in checked):
                return None
            return {key: checked}
        return self.condition(node, path)

    def condition(self, node, path):
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            if self.conditions == MAX_CONDITIONS + 1:
                self.refuse("", _("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
            return None
        unknown = set(node) - {"field", "cmp", "value"}
        if unknown or "field" not in node:
            self.refuse(path, _("A condition has a field, a comparison and a value."))
            return None
        spec = FIELDS.get(node.get("field"))
        if spec is None:
            self.refuse(path, _("Unknown field %(field)r.") % {"field": node.get("field")})
            return None
        cmp = node.get("cmp") or spec.cmps[0]
        if cmp not in spec.cmps:
            self.refuse(path, _("%(field)s cannot be compared with %(cmp)r.")
                        % {"field": spec.label, "cmp": cmp})  # fmt: skip
            return None
        value = self.value(spec, cmp, node.get("value"), path)
        if value is None:
            return None
        return {"field": spec.name, "cmp": cmp, "value": value}

    def number(self, spec, raw, path):
        try:
            if isinstance(raw, bool):
                raise ValueError
            if spec.kind == "money":
                value = Decimal(str(raw)).quantize(Decimal("0.01"))
            else:
                value = Decimal(str(raw))
                if value != value.to_integral_value():
                    raise ValueError
                value = int(value)
        except (InvalidOperation, ValueError, TypeError):
            self.refuse(path, _("%(field)s needs a number.") % {"field": spec.label})
            return None
        if value < spec.minimum or (spec.maximum is not None and value > spec.maximum):
            top = spec.maximum if spec.maximum is not None else "∞"
            self.refuse(path, _("%(field)s must be between %(low)s and %(high)s.")
                        % {"field": spec.label, "low": spec.minimum, "high": top})  # fmt: skip
            return None
        return str(value) if spec.kind == "money" else value

    def value(self, spec, cmp, raw, path):
        if spec.kind in ("int", "money", "days"):
            if cmp == "between":
                if not isinstance(raw, list) or len(raw) != 2:
                    self.refuse(path, _("Between takes two numbers."))
                    return None
                low, high = (self.number(spec, v, path) for v in raw)
                if low is None or high is None:
                    return None
                if Decimal(str(low)) > Decimal(str(high)):
                    self.refuse(path, _("The first number of a between is above the second."))
                    return None
                return [low, high]
            return self.number(spec, raw, path)
        values = raw if isinstance(raw, list) else [raw]
        values = [v for v in values if v not in (None, "")]
        if not values:
            self.refuse(path, _("Choose at least one value for %(field)s.") % {"field": spec.label})
            return None
        if spec.kind == "choice":
            allowed = {str(v): v for v, _label in spec.choices}
            wrong = [v for v in values if str(v) not in allowed]
            if wrong:
                shown = ", ".join(map(str, wrong))
                self.refuse(path, _("%(field)s has no value %(values)s.")
                            % {"field": spec.label, "values": shown})  # fmt: skip
                return None
            return sorted({allowed[str(v)] for v in values}, key=str)
        known = self.codes.setdefault(spec.name, _code_lookup(spec.name))
        values = [str(v).strip() for v in values]
        wrong = [v for v in values if v not in known]
        if wrong:
            self.refuse(path, _("No %(field)s named %(values)s.")
                        % {"field": spec.label, "values": ", ".join(wrong)})  # fmt: skip
            return None
        return sorted(set(values))


def clean_definition(definition):
    """The definition checked and in canonical form (values typed, lists sorted): raises
    InvalidSegment listing every problem, each with where it is (1.2 = the second condition of
    the first group)."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidSegment(fields={"definition": [_("Not valid JSON: %s") % exc]}) from exc
    if definition in (None, {}):
        definition = {"all": []}
    checker = _Checker()
    cleaned = checker.node(definition, "", 0)
    if checker.errors or cleaned is None:
        raise InvalidSegment(fields={"definition": checker.errors or [_("Not valid.")]})
    if not any(key in cleaned for key in ("all", "any", "not")):
        cleaned = {"all": [cleaned]}
    return cleaned


def definition_hash(definition):
    """sha256 of the canonical JSON: two definitions that mean the same have the same hash."""
    text = json.dumps(clean_definition(definition), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


# --- compiling ---------------------------------------------------------------------------------


def _birthday_days(today, within):
    """MMDD of the days from today to `within` days later; 29 February counts on the 28th in
    a year without it."""
    days = set()
    for n in range(within + 1):
        day = today + timedelta(days=n)
        days.add(day.strftime("%m%d"))
        if day.month == 2 and day.day == 28 and not _leap(day.year):
            days.add("0229")
    return sorted(days)


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class _Compiler:
    def __init__(self, at):
        self.at = at
        self.today = timezone.localdate(at)
        self.params = []
        self.codes = {}

    def node(self, node):
        if "all" in node:
            parts = [self.node(n) for n in node["all"]]
            return "(" + " AND ".join(parts) + ")" if parts else "TRUE"
        if "any" in node:
            parts = [self.node(n) for n in node["any"]]
            return "(" + " OR ".join(parts) + ")" if parts else "FALSE"
        if "not" in node:
            # A condition on a missing statistic is unknown (NULL), and NOT unknown is unknown:
            # "not" means "the condition is not true", so NULL counts as not true.
            return f"(({self.node(node['not'])}) IS NOT TRUE)"
        return self.condition(node)

    def condition(self, node):
        spec = FIELDS[node["field"]]
        cmp, value = node["cmp"], node["value"]
        if spec.name == "no_purchase_days":
            self.params.append(self.at - timedelta(days=value))
            return "(m.last_visit_at IS NULL OR m.last_visit_at < %s)"
        if spec.name == "birthday_within":
            self.params.append(_birthday_days(self.today, value))
            return "(to_char(m.birthday, 'MMDD') = ANY(%s))"
        if spec.name == "tag":
            ids = [self._ids(spec.name)[v] for v in value]
            self.params.append(ids)
            return (
                f'EXISTS (SELECT 1 FROM "{Member.tags.through._meta.db_table}" mt '
                "WHERE mt.member_id = m.id AND mt.tag_id = ANY(%s))"
            )
        if spec.extra.get("lapse"):
            days = f"(%s::date - (m.last_visit_at AT TIME ZONE '{_tz()}')::date)"
            stage = lapse_case_sql(days, "s.median_gap_days")
            self.params.extend([self.today] * stage.count("%s"))
            self.params.append(list(value))
            return f"({stage} = ANY(%s))"
        sql = spec.sql
        if spec.kind in ("codes", "choice"):
            ids = [self._ids(spec.name)[v] for v in value] if spec.kind == "codes" else value
            self.params.append(list(ids))
            return f"({sql} = ANY(%s))"
        today = [self.today] if spec.extra.get("today") else []  # the expression's own %s
        if cmp == "between":
            low, high = (Decimal(str(v)) for v in value)
            self.params.extend([*today, low, *today, high])
            return f"({sql} >= %s AND {sql} <= %s)"
        self.params.extend([*today, Decimal(str(value))])
        return f"({sql} {cmp} %s)"

    def _ids(self, name):
        if name not in self.codes:
            self.codes[name] = _code_lookup(name)
        return self.codes[name]


def compile_definition(definition, *, at=None):
    """(SQL condition, params) over `m` (the member), `st` (their home store) and `s` (their
    statistics, LEFT JOINed). Checks the definition first (InvalidSegment)."""
    cleaned = clean_definition(definition)
    compiler = _Compiler(at or timezone.now())
    sql = compiler.node(cleaned)
    return sql, compiler.params


def from_sql(stores=True, stats=True):
    """FROM the members, with their home store (`st`) and statistics (`s`) when needed."""
    sql = f'FROM "{Member._meta.db_table}" m'
    if stores:
        sql += f' JOIN "{Store._meta.db_table}" st ON st.id = m.home_store_id'
    if stats:
        sql += f' LEFT JOIN "{MemberStats._meta.db_table}" s ON s.member_id = m.id'
    return sql


def members_sql(definition, *, at=None, store_ids=None, select="m.id"):
    """(SQL, params) selecting `select` for each active member the definition matches (only
    those whose home store is in `store_ids`, when given). The store and the statistics are
    joined only when a condition reads them: a million-member launch skips what it need not
    read."""
    condition, params = compile_definition(definition, at=at)
    used = f"{select} {condition}"
    tables = from_sql(stores=bool(_STORE.search(used)), stats=bool(_STATS.search(used)))
    sql = f"SELECT {select} {tables} WHERE m.status = %s AND {condition}"
    params = [Member.Status.ACTIVE, *params]
    if store_ids is not None:
        sql += " AND m.home_store_id = ANY(%s)"
        params.append(sorted(store_ids))
    return sql, params


def count_members(definition, *, at=None, store_ids=None):
    sql, params = members_sql(definition, at=at, store_ids=store_ids, select="count(*)")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def member_queryset(definition, *, at=None, store_ids=None):
    """The matching members as a Member queryset (for exports and sample pages)."""
    sql, params = members_sql(definition, at=at, store_ids=store_ids)
    return Member.objects.filter(pk__in=RawSQL(sql, params))


def sample_members(definition, *, at=None, store_ids=None, size=SAMPLE_SIZE):
    """A spread-out sample of the matching members (ordered by a hash of the id, so not just
    the oldest cards), with what the editor shows of each."""
    sql, params = members_sql(
        definition,
        at=at,
        store_ids=store_ids,
        select="m.id, hashtext(m.id::text) AS h",
    )
    sql += " ORDER BY h LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, size])
        ids = [row[0] for row in cursor.fetchall()]
    found = {
        m.pk: m
        for m in Member.objects.filter(pk__in=ids).select_related(
            "home_store", "tier", "stats", "stats__favourite_store"
        )
    }
    return [found[pk] for pk in ids if pk in found]


# --- describing --------------------------------------------------------------------------------


def describe(definition):
    """The definition in words, for lists and reports. Reads the definition as stored (saved
    definitions are canonical), so a list of segments costs no query per row."""
    try:
        node = definition if isinstance(definition, dict) else json.loads(definition or "{}")
        if not any(key in node for key in ("all", "any", "not")):
            node = {"all": [node]} if node else {"all": []}
        text = _describe(node, top=True)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return _("(not valid)")
    return text or _("every active member")


def _describe(node, top=False):
    if "all" in node or "any" in node:
        items = node.get("all", node.get("any"))
        joiner = _(" and ") if "all" in node else _(" or ")
        parts = [_describe(n) for n in items]
        if not parts:
            return "" if "all" in node else _("no one")
        text = joiner.join(parts)
        return text if top or len(parts) == 1 else f"({text})"
    if "not" in node:
        return _("not %(condition)s") % {"condition": _describe(node["not"])}
    spec = FIELDS[node["field"]]
    value = node["value"]
    if spec.kind == "choice":
        labels = dict((str(v), str(label)) for v, label in spec.choices)
        shown = "、".join(labels.get(str(v), str(v)) for v in value)
        return _("%(field)s is %(values)s") % {"field": spec.label, "values": shown}
    if spec.kind == "codes":
        return _("%(field)s is %(values)s") % {"field": spec.label, "values": "、".join(value)}
    if node["cmp"] == "between":
        return _("%(field)s between %(low)s and %(high)s") % {
            "field": spec.label,
            "low": value[0],
            "high": value[1],
        }
    if spec.name == "no_purchase_days":
        return _("no purchase in the last %(days)s days") % {"days": value}
    if spec.name == "birthday_within":
        return _("birthday within %(days)s days") % {"days": value}
    return f"{spec.label} {node['cmp']} {value}"


def catalog():
    """What the editor offers: every field with its comparisons and choices."""
    fields = []
    for spec in FIELDS.values():
        choices = (
            [[str(v), str(label)] for v, label in spec.choices]
            if spec.kind == "choice"
            else [[code, str(label)] for code, label in code_choices(spec.name)]
            if spec.kind == "codes"
            else []
        )
        fields.append(
            {
                "name": spec.name,
                "label": str(spec.label),
                "group": str(spec.group),
                "kind": spec.kind,
                "cmps": list(spec.cmps),
                "choices": choices,
                "min": spec.minimum,
                "max": spec.maximum,
            }
        )
    return fields
