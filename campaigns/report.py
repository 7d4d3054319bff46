"""What a campaign earned: the gross figures operators know and the comparison with the control
group that separates what the campaign caused from what members would have bought anyway.

Gross (coupon offers; the operators' own figures):
- 用券率 usage_rate = coupons used / issued;
- 拉动人数 driven_members = members who used one;
- 单均拉动消费 driven_sales_per_member = paid on the sales that used one / driven members;
- 拉动消费 driven_sales = driven members x driven sales per member;
- 券撬动率 leverage = driven sales / coupon value used (¥10 spent to drive ¥1 shows as 0.1).
For a points multiplier, "issued" is the members given the extra points, "used" those who
earned some, and the cost is the extra points at the redemption rule's rate.

Against the control group (each member counted over their own window: from entry for
`measure_days`, up to now):
- per arm: members, buyers, conversion, sales per member (paid, net of refunds), visits per
  member (days with a purchase);
- incremental_buyers = (conversion treated - control) x treated members, an estimate of
  people reported as a whole number of them (rounded half up);
- incremental_sales = (sales per member treated - control) x treated members;
- incremental_leverage = incremental sales / offer cost (营销误伤: discount given to members
  who would have bought anyway does not count as driven here);
- lift on sales per member, its 95% interval and p-value (campaigns.lift: delta method, CUPED
  on the spend before entry where it helps), and the sample-ratio check.

Everything is computed in SQL per arm (counts and sums), so a million members cost a few
aggregate queries, never a million rows in Python.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coupons.models import Coupon
from loyalty.models import EarningRuleMember, RedemptionRule
from members.models import Member
from sales.models import Refund, Sale, SaleCoupon

from . import lift
from .exceptions import NotMeasurable
from .messages import reach
from .models import Campaign, CampaignMember

Arm = CampaignMember.Arm
SRM_ALERT = 0.001  # below this, the split is broken: the page warns
DEFAULT_POINTS_PER_YUAN = 100


def _t(model):
    return f'"{model._meta.db_table}"'


def _money(value):
    return round(float(value or 0), 2)


def _rate(numerator, denominator, digits=6):
    if not denominator:
        return None
    return round(float(numerator) / float(denominator), digits)


def _scope(column, store_ids):
    """An SQL condition keeping members of `store_ids` (a store manager's view), or TRUE."""
    if store_ids is None:
        return "TRUE"
    return f"{column} IN (SELECT id FROM {_t(Member)} WHERE home_store_id = ANY(%(stores)s))"


REPORT_WORK_MEM = "128MB"  # the report's hashes and sorts stay in memory (SET LOCAL)


def _sold_sql(store_ids):
    """Each entry's purchases inside its own window, net of refunds. The scan of sales is also
    bounded by the campaign's overall window (no entry is older than the launch), so it reads
    only those weeks of sales."""
    return f"""
        SELECT cm.id AS entry, cm.arm, cm.pre_spend, cm.enrolled_at, s.created_at,
               s.amount_due - COALESCE(r.amount, 0) AS paid
        FROM {_t(CampaignMember)} cm
        JOIN {_t(Sale)} s ON s.member_id = cm.member_id
         AND s.created_at >= cm.enrolled_at
         AND s.created_at < LEAST(cm.enrolled_at + make_interval(days => %(days)s), %(as_of)s)
        LEFT JOIN (SELECT sale_id, sum(amount_due) AS amount FROM {_t(Refund)}
                   WHERE created_at < %(as_of)s GROUP BY sale_id) r ON r.sale_id = s.id
        WHERE cm.campaign_id = %(campaign)s AND cm.enrolled_at < %(as_of)s
          AND {_scope("cm.member_id", store_ids)}
          AND s.created_at >= %(since)s AND s.created_at < %(as_of)s
    """


def _buyers_sql(store_ids):
    """Per arm, over the entries that bought: count, sums of y, y^2, x*y and visits (days with a
    purchase). Entries that bought nothing add zero to these sums."""
    tz = settings.TIME_ZONE
    return f"""
        WITH days AS (
            SELECT entry, arm, pre_spend, (created_at AT TIME ZONE '{tz}')::date AS day,
                   sum(paid) AS paid
            FROM ({_sold_sql(store_ids)}) sold
            GROUP BY entry, arm, pre_spend, day
        ), per AS (
            SELECT entry, arm, pre_spend, sum(paid) AS y, count(*) AS visits
            FROM days GROUP BY entry, arm, pre_spend
        )
        SELECT arm, count(*), COALESCE(sum(y), 0), COALESCE(sum(y * y), 0),
               COALESCE(sum(pre_spend * y), 0), COALESCE(sum(visits), 0)
        FROM per GROUP BY arm
    """


def _entries_sql(store_ids):
    """Per arm, over every entry: count and sums of x and x^2 (x: spend before entry)."""
    return f"""
        SELECT arm, count(*), COALESCE(sum(pre_spend), 0),
               COALESCE(sum(pre_spend * pre_spend), 0)
        FROM {_t(CampaignMember)} cm
        WHERE campaign_id = %(campaign)s AND enrolled_at < %(as_of)s
          AND {_scope("cm.member_id", store_ids)}
        GROUP BY arm
    """


def _series_sql(store_ids=None):
    return f"""
        SELECT arm, floor(extract(epoch FROM created_at - enrolled_at) / 86400)::int, sum(paid)
        FROM ({_sold_sql(store_ids)}) sold
        GROUP BY 1, 2
    """


def _arm_rows(params, store_ids):
    """{arm: (arm, n, buyers, y, yy, x, xx, xy, visits)}, in one transaction with room for the
    report's hashes in memory."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(_entries_sql(store_ids), params)
        entries = {row[0]: row for row in cursor.fetchall()}
        cursor.execute(_buyers_sql(store_ids), params)
        buyers = {row[0]: row for row in cursor.fetchall()}
    rows = {}
    for arm, (_arm, n, x, xx) in entries.items():
        _b, bought, y, yy, xy, visits = buyers.get(arm, (arm, 0, 0, 0, 0, 0))
        rows[arm] = (arm, n, bought, y, yy, x, xx, xy, visits)
    return rows


def _arm_figures(row):
    _arm, n, buyers, y, yy, x, xx, xy, visits = row
    sums = lift.Sums(n=n, y=float(y), yy=float(yy), x=float(x), xx=float(xx), xy=float(xy))
    sums.buyers = buyers
    return sums, {
        "members": n,
        "buyers": buyers,
        "conversion": _rate(buyers, n),
        "sales": _money(y),
        "sales_per_member": round(float(y) / n, 4) if n else None,
        "visits_per_member": round(float(visits) / n, 4) if n else None,
    }


def _empty_arm():
    empty = lift.Sums()
    empty.buyers = 0
    return empty, {
        "members": 0,
        "buyers": 0,
        "conversion": None,
        "sales": 0.0,
        "sales_per_member": None,
        "visits_per_member": None,
    }


def _coupon_figures(campaign, as_of, store_ids):
    """Issued, used and what the sales that used them paid, for the campaign's coupons (their
    issue keys name the campaign's occasion: "<template>:<member>:campaign:<id>[:<day>]")."""
    pattern = rf"^{campaign.coupon_template_id}:[0-9]+:campaign:{campaign.pk}(:|$)"
    sql = f"""
        WITH c AS (
            SELECT id, owner_id, status, issued_at FROM {_t(Coupon)}
            WHERE template_id = %(template)s AND issue_key ~ %(pattern)s
              AND issued_at < %(as_of)s AND {_scope("owner_id", store_ids)}
        ), uses AS (
            SELECT DISTINCT ON (sc.coupon_id) sc.coupon_id, sc.sale_id, sc.discount
            FROM {_t(SaleCoupon)} sc JOIN c ON c.id = sc.coupon_id AND c.status = 'used'
            ORDER BY sc.coupon_id, sc.sale_id DESC
        ), paid AS (
            SELECT s.id, s.member_id,
                   s.amount_due - COALESCE((SELECT sum(r.amount_due) FROM {_t(Refund)} r
                       WHERE r.sale_id = s.id AND r.created_at < %(as_of)s), 0) AS amount
            FROM {_t(Sale)} s WHERE s.id IN (SELECT sale_id FROM uses)
              AND s.created_at < %(as_of)s
        )
        SELECT (SELECT count(*) FROM c),
               (SELECT count(*) FROM uses),
               (SELECT COALESCE(sum(discount), 0) FROM uses),
               (SELECT count(DISTINCT member_id) FROM paid),
               (SELECT COALESCE(sum(amount), 0) FROM paid),
               (SELECT count(*) FROM c JOIN {_t(CampaignMember)} e ON e.member_id = c.owner_id
                 AND e.campaign_id = %(campaign)s AND e.arm = '{Arm.CONTROL}')
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "template": campaign.coupon_template_id,
                "pattern": pattern,
                "as_of": as_of,
                "campaign": campaign.pk,
                "stores": sorted(store_ids or ()),
            },
        )
        issued, used, value, driven, paid, control = cursor.fetchone()
    return issued, used, Decimal(value), driven, Decimal(paid), control


def points_per_yuan():
    rule = RedemptionRule.objects.filter(is_active=True).order_by("-priority", "-id").first()
    return rule.points_per_yuan if rule else DEFAULT_POINTS_PER_YUAN


def _multiplier_figures(campaign, as_of, store_ids):
    """Members given the extra points, those who earned some, what their sales under it paid,
    and the extra points (from each sale's breakdown, the rule's own line)."""
    label = f"rule:{campaign.earning_rule_id}"
    sql = f"""
        WITH t AS (
            SELECT member_id, starts_on, ends_on FROM {_t(EarningRuleMember)}
            WHERE rule_id = %(rule)s AND {_scope("member_id", store_ids)}
        ), e AS (
            SELECT s.id, s.member_id,
                   s.amount_due - COALESCE((SELECT sum(r.amount_due) FROM {_t(Refund)} r
                       WHERE r.sale_id = s.id AND r.created_at < %(as_of)s), 0) AS paid,
                   COALESCE((SELECT sum((el ->> 'points')::int)
                             FROM jsonb_array_elements(s.breakdown -> 'earning') el
                             WHERE el ->> 'rule' = %(label)s), 0) AS extra
            FROM t JOIN {_t(Sale)} s ON s.member_id = t.member_id
             AND s.created_at >= t.starts_on::timestamp AT TIME ZONE %(tz)s
             AND s.created_at < (t.ends_on + 1)::timestamp AT TIME ZONE %(tz)s
             AND s.created_at < %(as_of)s
        )
        SELECT (SELECT count(*) FROM t),
               count(DISTINCT member_id) FILTER (WHERE extra > 0),
               COALESCE(sum(paid) FILTER (WHERE extra > 0), 0),
               COALESCE(sum(extra), 0),
               (SELECT count(*) FROM t JOIN {_t(CampaignMember)} c ON c.member_id = t.member_id
                 AND c.campaign_id = %(campaign)s AND c.arm = '{Arm.CONTROL}')
        FROM e
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "rule": campaign.earning_rule_id,
                "label": label,
                "as_of": as_of,
                "tz": settings.TIME_ZONE,
                "campaign": campaign.pk,
                "stores": sorted(store_ids or ()),
            },
        )
        listed, used, paid, extra, control = cursor.fetchone()
    cost = (Decimal(extra) / points_per_yuan()).quantize(Decimal("0.01"))
    return listed, used, cost, used, Decimal(paid), control, int(extra)


def campaign_report(campaign, *, as_of=None, series=False, store_ids=None) -> dict:
    """The report of `campaign` as of `as_of` (default now). Keys: see the module docstring;
    `series` adds, per arm, cumulative sales per member by day since entry (for the chart);
    `store_ids` keeps only members of those home stores (a store manager's view of it)."""
    if campaign.status == Campaign.Status.DRAFT or campaign.launched_at is None:
        raise NotMeasurable(
            _("%(code)s has not been launched: there is nothing to measure yet.")
            % {"code": campaign.code}
        )
    as_of = as_of or timezone.now()
    params = {
        "campaign": campaign.pk,
        "days": campaign.measure_days,
        "as_of": as_of,
        "since": campaign.launched_at,
        "stores": sorted(store_ids or ()),
    }
    rows = _arm_rows(params, store_ids)
    arms, sums = {}, {}
    for arm in (Arm.TREATMENT, Arm.CONTROL):
        sums[arm], arms[str(arm)] = _arm_figures(rows[arm]) if arm in rows else _empty_arm()
    t, c = arms["treatment"], arms["control"]

    extra_points = None
    if campaign.offer == Campaign.Offer.COUPON:
        figures = _coupon_figures(campaign, as_of, store_ids)
        issued, used, cost, driven, paid, control_offers = figures
    else:
        figures = _multiplier_figures(campaign, as_of, store_ids)
        issued, used, cost, driven, paid, control_offers, extra_points = figures
    per_driven = paid / driven if driven else None
    driven_sales = (per_driven * driven) if driven else Decimal("0")

    incremental_buyers = incremental_sales = None
    if t["members"] and c["members"]:
        incremental_buyers = (
            sums[Arm.TREATMENT].buyers / t["members"] - sums[Arm.CONTROL].buyers / c["members"]
        ) * t["members"]
        incremental_sales = (sums[Arm.TREATMENT].mean_y() - sums[Arm.CONTROL].mean_y()) * t[
            "members"
        ]
    effect = lift.lift(sums[Arm.TREATMENT], sums[Arm.CONTROL])
    srm = lift.srm_p_value(t["members"], c["members"], float(campaign.control_share))
    report = {
        "campaign": {
            "code": campaign.code,
            "name": campaign.name,
            "status": campaign.status,
            "offer": campaign.offer,
            "schedule": campaign.schedule,
            "segment": campaign.segment.name,
            "definition_hash": campaign.frozen_hash,
            "control_percent": float(campaign.control_percent),
            "measure_days": campaign.measure_days,
            "launched_at": timezone.localtime(campaign.launched_at).isoformat(),
            "finished_at": (
                timezone.localtime(campaign.finished_at).isoformat()
                if campaign.finished_at
                else None
            ),
        },
        "as_of": timezone.localtime(as_of).isoformat(),
        "issued": issued,
        "used": used,
        "usage_rate": _rate(used, issued),
        "driven_members": driven,
        "driven_sales_per_member": _money(per_driven) if per_driven is not None else None,
        "driven_sales": _money(driven_sales),
        "coupon_value_used": _money(cost),
        "leverage": _rate(driven_sales, cost, 4),
        "arms": arms,
        "incremental_buyers": whole_people(incremental_buyers),
        "incremental_sales": _round(incremental_sales, 2),
        "incremental_leverage": (
            _rate(incremental_sales, cost, 4) if incremental_sales is not None else None
        ),
        "lift": _round(effect["lift"]),
        "lift_ci": [_round(v) for v in effect["ci"]] if effect["ci"] else None,
        "p_value": _round(effect["p_value"], 8),
        "srm_p_value": _round(srm, 8),
        "srm_warning": srm is not None and srm < SRM_ALERT,
        "cuped": effect["cuped"],
        "variance_explained": _round(effect["variance_explained"]),
        "control_offers": control_offers,
    }
    if extra_points is not None:
        report["extra_points"] = extra_points
    # What the messages did (sent, delivered, failed, unsubscribed, cost): beside the lift,
    # which still compares the arms as assigned.
    report["reach"] = {k: (str(v) if isinstance(v, Decimal) else v)
                       for k, v in reach(campaign, as_of=as_of).items()}  # fmt: skip
    if series:
        report["series"] = _series(campaign, params, arms, store_ids)
    return report


def _round(value, digits=6):
    return None if value is None else round(value, digits)


def whole_people(value):
    """An estimate of a number of people, as a whole number of people (275.2 -> 275)."""
    if value is None:
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _series(campaign, params, arms, store_ids):
    """{arm: [cumulative sales per member on day 0, 1, … of the window]}."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(_series_sql(store_ids), params)
        rows = cursor.fetchall()
    days = campaign.measure_days
    daily = {str(arm): [0.0] * days for arm in (Arm.TREATMENT, Arm.CONTROL)}
    for arm, day, amount in rows:
        if 0 <= day < days:
            daily[arm][day] += float(amount or 0)
    result = {}
    for arm, values in daily.items():
        members = arms[arm]["members"] or 1
        total, cumulative = 0.0, []
        for value in values:
            total += value
            cumulative.append(round(total / members, 2))
        result[arm] = cumulative
    return result


def window_end(campaign):
    """When the last member's window closes (None while members may still enter)."""
    if campaign.launched_at is None:
        return None
    last = campaign.members.order_by("-enrolled_at").values_list("enrolled_at", flat=True).first()
    if last is None:
        return None
    return last + timedelta(days=campaign.measure_days)
