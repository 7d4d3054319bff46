"""The nightly refresh of member statistics (MemberStats), set-based and chunked.

Three passes, all in SQL, so a million members never pass through Python:

1. per chunk of member ids (one short transaction each): the chunk's sales of the last two years
   aggregated into a session-local staging table: visits (days with a purchase) and spend over
   30 / 90 / 365 days net of refunds, purchases in 365 days, the last day bought, the median gap
   between the last 12 visit days, the favourite store (most purchases in 365 days), points
   expiring within 30 days, unused coupons, and tier progress;
2. the chain-wide RFM thresholds from the staging table (quintiles for the 1–5 scores, averages
   for the eight cells), one sort over the members who bought within the year;
3. per chunk: the scores, the cell, the lapse stage (days since the last visit against the
   member's own rhythm) and the visits short of the next tier, upserted into MemberStats.

One run at a time (an advisory lock); a rerun for the same moment writes the same rows.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from coupons.models import Coupon
from loyalty.models import PointsAccount, PointsLot, TierProgress
from loyalty.services.tiers import window_start
from members.models import Member, Tier
from sales.models import Refund, Sale

from .models import LapseStage, MemberStats, StatsRun

CHUNK = 100_000
LOCK_KEY = 0x63616D70  # "camp": one statistics refresh at a time
GAP_VISITS = 12  # the median gap is taken over this many last visit days
STAGE = "_campaigns_stats_stage"


class StatsRefreshRunning(DomainError):
    code = "stats_running"
    status = 409
    default_message = gettext_lazy("Another statistics refresh is running.")


def _t(model):
    return f'"{model._meta.db_table}"'


def lapse_settings():
    """{stage: (k, floor days)} and the gap assumed for members with fewer than two visits."""
    stages = getattr(settings, "CAMPAIGNS_LAPSE", {})
    defaults = {"warning": (3.0, 14), "dormant": (6.0, 60), "lost": (12.0, 180)}
    found = {
        stage: (
            float(stages.get(stage, {}).get("k", k)),
            int(stages.get(stage, {}).get("floor", floor)),
        )
        for stage, (k, floor) in defaults.items()
    }
    return found, int(getattr(settings, "CAMPAIGNS_UNKNOWN_GAP_DAYS", 30))


def lapse_case_sql(days_sql, gap_sql):
    """SQL giving the lapse stage from the days since the last visit (`days_sql`, NULL when
    the member never bought) and the median gap (`gap_sql`, NULL when unknown). Parameters: the
    unknown gap, then (k, floor) for lost, dormant, warning, in the order they appear."""
    stages, unknown = lapse_settings()
    gap = f"COALESCE({gap_sql}, {float(unknown)})"
    parts = [f"WHEN {days_sql} IS NULL THEN '{LapseStage.NEVER}'"]
    for stage in ("lost", "dormant", "warning"):
        k, floor = stages[stage]
        parts.append(f"WHEN {days_sql} > GREATEST({floor}, {k} * {gap}) THEN '{stage}'")
    return f"(CASE {' '.join(parts)} ELSE '{LapseStage.ACTIVE}' END)"


def _stage_sql():
    tz = settings.TIME_ZONE
    member, sale, refund = _t(Member), _t(Sale), _t(Refund)
    lot, account, coupon, progress = _t(PointsLot), _t(PointsAccount), _t(Coupon), _t(TierProgress)
    windows = ", ".join(
        f"count(DISTINCT day) FILTER (WHERE created_at >= %(since_{d})s) AS visits_{d}, "
        f"COALESCE(sum(amount_due) FILTER (WHERE created_at >= %(since_{d})s), 0) AS spend_{d}"
        for d in (30, 90, 365)
    )
    refunds = ", ".join(
        f"COALESCE(sum(amount_due) FILTER (WHERE created_at >= %(since_{d})s), 0) AS r{d}"
        for d in (30, 90, 365)
    )
    net = ", ".join(
        f"COALESCE(agg.visits_{d}, 0), "
        f"GREATEST(COALESCE(agg.spend_{d}, 0) - COALESCE(ref.r{d}, 0), 0)"
        for d in (30, 90, 365)
    )
    return f"""
        INSERT INTO {STAGE} (member_id, tier_id, last_day, visits_30, spend_30, visits_90,
            spend_90, visits_365, spend_365, sales_365, median_gap, favourite_store_id,
            points_expiring, unused_coupons, qualifying_spend, rolling_spend)
        WITH m AS (
            SELECT id, tier_id, last_visit_at FROM {member} WHERE id >= %(lo)s AND id < %(hi)s
        ), s AS MATERIALIZED (
            SELECT member_id, store_id, amount_due, created_at,
                   (created_at AT TIME ZONE '{tz}')::date AS day
            FROM {sale}
            WHERE member_id >= %(lo)s AND member_id < %(hi)s
              AND created_at >= %(since_730)s AND created_at < %(as_of)s
        ), agg AS (
            SELECT member_id, max(day) AS last_day, {windows},
                   count(*) FILTER (WHERE created_at >= %(since_365)s) AS sales_365,
                   mode() WITHIN GROUP (ORDER BY store_id)
                       FILTER (WHERE created_at >= %(since_365)s) AS favourite_store_id
            FROM s GROUP BY member_id
        ), gaps AS (
            SELECT member_id, day - lag(day) OVER (PARTITION BY member_id ORDER BY day) AS gap,
                   row_number() OVER (PARTITION BY member_id ORDER BY day DESC) AS rn
            FROM (SELECT DISTINCT member_id, day FROM s) d
        ), med AS (
            SELECT member_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
            FROM gaps WHERE rn <= {GAP_VISITS} AND gap IS NOT NULL GROUP BY member_id
        ), ref AS (
            SELECT member_id, {refunds}
            FROM {refund}
            WHERE member_id >= %(lo)s AND member_id < %(hi)s
              AND created_at >= %(since_365)s AND created_at < %(as_of)s
            GROUP BY member_id
        ), acc AS (
            SELECT id, member_id, qualifying_spend FROM {account}
            WHERE member_id >= %(lo)s AND member_id < %(hi)s
        ), lots AS (
            SELECT acc.member_id, sum(l.remaining) AS expiring
            FROM {lot} l JOIN acc ON acc.id = l.account_id
            WHERE l.remaining > 0 AND l.expires_at > %(as_of)s AND l.expires_at <= %(in_30)s
            GROUP BY acc.member_id
        ), cps AS (
            SELECT owner_id AS member_id, count(*) AS n FROM {coupon}
            WHERE owner_id >= %(lo)s AND owner_id < %(hi)s AND status = 'available'
              AND valid_until >= %(as_of)s
            GROUP BY owner_id
        ), roll AS (
            SELECT acc.member_id, sum(p.spend) AS spend
            FROM {progress} p JOIN acc ON acc.id = p.account_id
            WHERE p.month >= %(window_start)s AND p.month <= %(window_end)s
            GROUP BY acc.member_id
        )
        SELECT m.id, m.tier_id,
               COALESCE(agg.last_day, CASE WHEN m.last_visit_at < %(as_of)s
                   THEN (m.last_visit_at AT TIME ZONE '{tz}')::date END),
               {net},
               COALESCE(agg.sales_365, 0), med.median_gap, agg.favourite_store_id,
               COALESCE(lots.expiring, 0), COALESCE(cps.n, 0),
               COALESCE(acc.qualifying_spend, 0), COALESCE(roll.spend, 0)
        FROM m
        LEFT JOIN agg ON agg.member_id = m.id
        LEFT JOIN med ON med.member_id = m.id
        LEFT JOIN ref ON ref.member_id = m.id
        LEFT JOIN acc ON acc.member_id = m.id
        LEFT JOIN lots ON lots.member_id = m.id
        LEFT JOIN cps ON cps.member_id = m.id
        LEFT JOIN roll ON roll.member_id = m.id
    """


STAGE_COLUMNS = """
    member_id bigint PRIMARY KEY, tier_id bigint, last_day date,
    visits_30 int, spend_30 numeric, visits_90 int, spend_90 numeric,
    visits_365 int, spend_365 numeric, sales_365 int, median_gap double precision,
    favourite_store_id bigint, points_expiring bigint, unused_coupons int,
    qualifying_spend numeric, rolling_spend numeric
"""

STATS_COLUMNS = [
    "member_id",
    "visits_30",
    "visits_90",
    "visits_365",
    "spend_30",
    "spend_90",
    "spend_365",
    "avg_ticket",
    "median_gap_days",
    "favourite_store_id",
    "recency_days",
    "r_score",
    "f_score",
    "m_score",
    "rfm_cell",
    "lapse_stage",
    "visits_to_next_tier",
    "points_expiring_30",
    "unused_coupons",
    "refreshed_at",
]


def _score(value, thresholds, lower_is_better=False):
    """1 + how many quintile thresholds `value` beats (5: the best fifth)."""
    op = "<" if lower_is_better else ">"
    return " + ".join(["1", *(f"({value} {op} {float(t)})::int" for t in thresholds)])


def _final_sql(thresholds):
    """The MemberStats upsert of one chunk of the staging table, with the scores."""
    rec = "(%(today)s::date - st.last_day)"
    if thresholds["buyers"]:
        r_score = _score(rec, thresholds["recency"], lower_is_better=True)
        f_score = _score("st.visits_365", thresholds["visits"])
        m_score = _score("st.spend_365", thresholds["spend"])
        r_high = f"st.visits_365 > 0 AND {rec} < {float(thresholds['avg_recency'])}"
        f_high = f"st.visits_365 > {float(thresholds['avg_visits'])}"
        m_high = f"st.spend_365 > {float(thresholds['avg_spend'])}"
    else:
        r_score = f_score = m_score = "1"
        r_high = f_high = m_high = "false"
    cell = (
        f"CASE WHEN st.last_day IS NULL THEN '' ELSE "
        f"(CASE WHEN {r_high} THEN 'h' ELSE 'l' END) || (CASE WHEN {f_high} THEN 'h' ELSE 'l' END)"
        f" || (CASE WHEN {m_high} THEN 'h' ELSE 'l' END) END"
    )
    scores = "CASE WHEN st.last_day IS NULL THEN NULL WHEN st.visits_365 = 0 THEN 1 ELSE {} END"
    lapse = lapse_case_sql(rec, "st.median_gap")
    progress = "(CASE WHEN nt.rolling THEN st.rolling_spend ELSE st.qualifying_spend END)"
    next_tier = (
        "CASE WHEN nt.spend IS NULL OR st.sales_365 = 0 OR st.spend_365 <= 0 THEN NULL ELSE "
        f"GREATEST(1, ceil((nt.spend - {progress}) / (st.spend_365 / st.sales_365)))::int END"
    )
    table = _t(MemberStats)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in STATS_COLUMNS[1:])
    return f"""
        INSERT INTO {table} ({", ".join(STATS_COLUMNS)})
        SELECT st.member_id, st.visits_30, st.visits_90, st.visits_365,
               st.spend_30, st.spend_90, st.spend_365,
               CASE WHEN st.sales_365 > 0 THEN round(st.spend_365 / st.sales_365, 2) END,
               round(st.median_gap::numeric, 1), st.favourite_store_id, {rec},
               {scores.format(r_score)}, {scores.format(f_score)}, {scores.format(m_score)},
               {cell}, {lapse}, {next_tier},
               st.points_expiring, st.unused_coupons, %(now)s
        FROM {STAGE} st
        LEFT JOIN unnest(%(tier_ids)s::bigint[], %(tier_spend)s::numeric[],
                         %(tier_rolling)s::boolean[]) AS nt(tier_id, spend, rolling)
               ON nt.tier_id = COALESCE(st.tier_id, %(default_tier)s)
        WHERE st.member_id >= %(lo)s AND st.member_id < %(hi)s
        ON CONFLICT (member_id) DO UPDATE SET {updates}
    """


def _next_tiers():
    """For every tier, the spend that reaches the next tier up (the lowest rank above it with a
    spend threshold) and whether that tier counts the last 12 months."""
    tiers = list(Tier.objects.order_by("rank"))
    ids, spend, rolling = [], [], []
    for tier in tiers:
        above = [t for t in tiers if t.rank > tier.rank and t.upgrade_spend is not None]
        if above:
            ids.append(tier.pk)
            spend.append(above[0].upgrade_spend)
            rolling.append(above[0].window == Tier.Window.ROLLING)
    default = next((t.pk for t in tiers if t.is_default), None)
    return {"tier_ids": ids, "tier_spend": spend, "tier_rolling": rolling, "default_tier": default}


def _thresholds(cursor, today):
    cursor.execute(
        f"""SELECT count(*),
                   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8])
                       WITHIN GROUP (ORDER BY (%s::date - last_day)),
                   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY visits_365),
                   percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY spend_365),
                   avg(%s::date - last_day), avg(visits_365), avg(spend_365)
            FROM {STAGE} WHERE visits_365 > 0""",
        [today, today],
    )
    buyers, recency, visits, spend, avg_recency, avg_visits, avg_spend = cursor.fetchone()
    return {
        "buyers": buyers,
        "recency": [float(x) for x in recency or []],
        "visits": [float(x) for x in visits or []],
        "spend": [float(x) for x in spend or []],
        "avg_recency": float(avg_recency or 0),
        "avg_visits": float(avg_visits or 0),
        "avg_spend": float(avg_spend or 0),
    }


def refresh_member_stats(*, as_of=None, source, actor=None, chunk_size=CHUNK) -> StatsRun:
    """Recompute every member's statistics as of `as_of` (default now): see the module's
    docstring. Returns the StatsRun. Raises StatsRefreshRunning if another run holds the lock."""
    as_of = as_of or timezone.now()
    started = time.perf_counter()
    today = timezone.localdate(as_of)
    params = {
        "as_of": as_of,
        "in_30": as_of + timedelta(days=30),
        "window_start": window_start(as_of),
        "window_end": timezone.localdate(as_of).replace(day=1),
        **{f"since_{d}": as_of - timedelta(days=d) for d in (30, 90, 365, 730)},
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise StatsRefreshRunning()
    try:
        run = StatsRun.objects.create(as_of=as_of, source=source)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(f"CREATE TEMP TABLE {STAGE} ({STAGE_COLUMNS})")
            cursor.execute(f"SELECT min(id), max(id) FROM {_t(Member)}")
            low, high = cursor.fetchone()
        ranges = (
            [(lo, min(lo + chunk_size, high + 1)) for lo in range(low, high + 1, chunk_size)]
            if low is not None
            else []
        )
        stage_sql = _stage_sql()
        for lo, hi in ranges:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(stage_sql, {**params, "lo": lo, "hi": hi})
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {STAGE}")
            thresholds = _thresholds(cursor, today)
        final_sql = _final_sql(thresholds)
        final = {**_next_tiers(), "today": today, "now": timezone.now()}
        members = 0
        for lo, hi in ranges:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(final_sql, {**final, "lo": lo, "hi": hi})
                members += cursor.rowcount
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        run.members = members
        run.thresholds = thresholds
        run.finished_at = timezone.now()
        run.seconds = round(time.perf_counter() - started, 3)
        run.save(update_fields=["members", "thresholds", "finished_at", "seconds"])
        return run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
