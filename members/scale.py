"""Members at chain scale for `manage.py seed_scale` (benchmarks, evaluations): a million
members and their cards written set-based from generate_series, in members' own tables.

Member `i` (1..n) has phone 15000000000 + 13 i, so the seed's other steps find `i` back from
the phone (`member_index_sql`); everything else about a member is a function of `i`.
"""

from django.db import connection

from core.sql import column, insert_select, table
from members.models import Card, Member
from members.models.cards import CARD_NO_LENGTH
from members.models.member import member_no_sql, name_initials

PHONE_BASE, PHONE_STEP = 15_000_000_000, 13
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
CARD_PREFIX = "66"


def member_index_sql(alias="m"):
    """SQL: the seed index `i` of member row `alias` (from its phone)."""
    return f"(({alias}.{column(Member, 'phone')}::bigint - {PHONE_BASE}) / {PHONE_STEP})"


def _array(chars):
    return "(ARRAY[" + ", ".join(f"'{c}'" for c in chars) + "])"


def insert_members(*, count, store_ids, tier_ids, now):
    """`count` members spread over `store_ids` and `tier_ids` (lowest tier first: 70 % /
    20 % / 8 % / 2 %), opened over the three years before `now`; returns how many."""
    surnames, given = _array(SURNAMES), _array(GIVEN)
    initials_s = _array(name_initials(c) for c in SURNAMES)
    initials_g = _array(name_initials(c) for c in GIVEN)
    tiers = list(tier_ids) + [tier_ids[-1]] * (4 - len(tier_ids))
    name = (
        f"{surnames}[1 + i %% 20] || {given}[1 + (i / 20) %% 20] || "
        f"CASE WHEN i %% 3 = 0 THEN {given}[1 + (i / 400) %% 20] ELSE '' END"
    )
    initials = (
        f"{initials_s}[1 + i %% 20] || {initials_g}[1 + (i / 20) %% 20] || "
        f"CASE WHEN i %% 3 = 0 THEN {initials_g}[1 + (i / 400) %% 20] ELSE '' END"
    )
    target, columns, values, defaults = insert_select(
        Member,
        {
            "member_no": member_no_sql(),
            "phone": f"({PHONE_BASE} + i * {PHONE_STEP})::text",
            "name": name,
            "name_initials": initials,
            "gender": "CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END",
            "birthday": "date '1955-01-01' + (i * 7919 %% 18000)::int",
            "home_store": "(%(stores)s::bigint[])[1 + i %% %(n_stores)s]",
            "tier": (
                "CASE WHEN i %% 100 < 70 THEN %(t0)s WHEN i %% 100 < 90 THEN %(t1)s "
                "WHEN i %% 100 < 98 THEN %(t2)s ELSE %(t3)s END"
            ),
            "status": "CASE WHEN i %% 250 = 0 THEN 'frozen' ELSE 'active' END",
            "source": "'import'",
            "opened_at": "%(now)s - interval '1 day' * (400 + i %% 700) - interval '1 second' * i",
            "last_visit_at": "NULL",
        },
    )
    params = {
        **defaults,
        "stores": list(store_ids),
        "n_stores": len(store_ids),
        "now": now,
        **{f"t{n}": tier for n, tier in enumerate(tiers[:4])},
        "n": count,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} "
            "FROM generate_series(1, %(n)s::bigint) AS g(i)",
            params,
        )
        return cursor.rowcount


def set_last_visits(*, sales_table):
    """Each member's last visit: their latest sale in `sales_table` (member_id, at)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(Member)} m SET {column(Member, 'last_visit_at')} = s.last "
            f"FROM (SELECT member_id, MAX(at) AS last FROM {sales_table} GROUP BY member_id) s "
            "WHERE m.id = s.member_id"
        )
        return cursor.rowcount


def issue_cards(*, now):
    """One active card per member, numbered CARD_PREFIX + member id + a Luhn check digit
    (computed in SQL, the rule `make_card_no` follows)."""
    width = CARD_NO_LENGTH - 1
    payload = f"'{CARD_PREFIX}' || lpad(m.id::text, {width - len(CARD_PREFIX)}, '0')"
    # Luhn: from the right, every other digit of the payload doubled (minus 9 above 9).
    check = (
        "(10 - (SELECT SUM(CASE WHEN (%(width)s - k) %% 2 = 0 THEN "
        "(CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END) ELSE d END) "
        f"FROM (SELECT k, substr(p.payload, k, 1)::int AS d FROM generate_series(1, {width}) k) x"
        ") %% 10) %% 10"
    )
    target, columns, values, defaults = insert_select(
        Card,
        {
            "card_no": f"p.payload || ({check})::text",
            "status": "'active'",
            "member": "p.id",
            "activated_at": "p.opened_at",
            "status_changed_at": "p.opened_at",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM ("
            f"SELECT m.id, m.{column(Member, 'opened_at')} AS opened_at, {payload} AS payload "
            f"FROM {table(Member)} m WHERE NOT EXISTS (SELECT 1 FROM {table(Card)} c "
            f"WHERE c.{column(Card, 'member')} = m.id)) p",
            {**defaults, "width": width, "now": now},
        )
        return cursor.rowcount
