"""The reports of the reports menu. Each report reads what the user's stores may see (and,
within that, the store picked in the filter), over the dates picked, and returns its tables
(shown on the page and exported to Excel as they are) and its charts."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.db import connection
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.models import PointsLot
from members.models import Member, Tier
from sales.models import Sale
from stores.access import ALL_STORES, allowed_store_ids
from stores.models import Store
from wallet import reports as wallet_reports
from wallet.models import RechargePlan, WalletEntry

from . import charts, figures, settlement
from .models import DailyStats, SettlementPeriod
from .tables import Column, Table

ZERO = Decimal("0.00")
PAGE_ROWS = 500


# --- filters and scope -----------------------------------------------------------------------


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("from"), required=False)
    date_to = forms.DateField(label=gettext_lazy("to"), required=False)
    store = forms.ModelChoiceField(
        label=gettext_lazy("store"),
        queryset=Store.objects.none(),
        required=False,
        empty_label=gettext_lazy("All my stores"),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        stores = Store.objects.order_by("code")
        allowed = allowed_store_ids(user)
        if allowed is not ALL_STORES:
            stores = stores.filter(id__in=allowed)
        self.fields["store"].queryset = stores

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            raise forms.ValidationError(_("The start date is after the end date."))
        if first and last and (last - first).days > 3 * 366:
            raise forms.ValidationError(_("Pick at most three years."))
        return data


class MonthFilterForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("month"),
        required=False,
        help_text=gettext_lazy("YYYY-MM"),
        widget=forms.TextInput(attrs={"type": "month"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"] = forms.ModelChoiceField(
            label=gettext_lazy("store"),
            queryset=ReportFilterForm(user=user).fields["store"].queryset,
            required=False,
            empty_label=gettext_lazy("All my stores"),
        )

    def clean_month(self):
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return None
        try:
            year, month = value.split("-")[:2]
            return date(int(year), int(month), 1)
        except (ValueError, TypeError):
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None


@dataclass
class Scope:
    user: object
    stores: set | None  # None: the whole chain (head office)
    date_from: date | None = None
    date_to: date | None = None
    month: date | None = None
    store: Store | None = None

    @property
    def is_chain(self):
        return self.stores is None

    def allows(self, store_id):
        return self.stores is None or store_id in self.stores


def scope_for(request, form):
    """The stores the user sees, narrowed to the store picked; the dates picked."""
    allowed = allowed_store_ids(request.user)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    store = data.get("store")
    stores = allowed if allowed is ALL_STORES else set(allowed)
    if store is not None:
        stores = {store.pk}
    return Scope(
        user=request.user,
        stores=stores,
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        month=data.get("month"),
        store=store,
    )


@dataclass
class Result:
    tables: list
    charts: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    period: str = ""
    extra: dict = field(default_factory=dict)


def _store_names(ids=None):
    stores = Store.objects.all() if ids is None else Store.objects.filter(id__in=ids)
    return {store.pk: str(store) for store in stores}


def _party(names, store_id):
    return _("Head office") if store_id is None else names.get(store_id, str(store_id))


def _range(scope, days_back=29, forward=False):
    today = timezone.localdate()
    if forward:
        first = scope.date_from or today
        last = scope.date_to or first + timedelta(days=days_back)
    else:
        last = scope.date_to or today
        first = scope.date_from or last - timedelta(days=days_back)
    return first, last


def _round_to(value, step):
    if not value:
        return ZERO
    return (Decimal(value) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


# --- the reports -----------------------------------------------------------------------------


class Report:
    slug = ""
    title = ""
    description = ""
    form_class = ReportFilterForm
    date_labels = (gettext_lazy("from"), gettext_lazy("to"))

    def form(self, request):
        form = self.form_class(request.GET or None, user=request.user)
        if "date_from" in form.fields:
            form.fields["date_from"].label, form.fields["date_to"].label = self.date_labels
        return form

    def build(self, scope) -> Result:
        raise NotImplementedError


class SalesByStoreReport(Report):
    slug = "sales-by-store"
    title = gettext_lazy("Sales and members by store and day")
    description = gettext_lazy("Member sales, refunds, new and active members per store per day.")

    def build(self, scope):
        first, last = _range(scope)
        rows = DailyStats.objects.filter(day__gte=first, day__lte=last, store__isnull=False)
        if scope.stores is not None:
            rows = rows.filter(store_id__in=scope.stores)
        rows = list(rows.select_related("store").order_by("day", "store__code"))
        columns = [
            Column("day", _("Day"), "date"),
            Column("store", _("Store")),
            Column("sales_count", _("Sales (count)"), "int"),
            Column("sales_amount", _("Sales amount"), "money"),
            Column("paid_amount", _("Paid by members"), "money"),
            Column("points_offset", _("Points offset (yuan)"), "money"),
            Column("refund_amount", _("Refunded"), "money"),
            Column("new_members", _("New members"), "int"),
            Column("active_members", _("Active members"), "int"),
            Column("active_members_30", _("Active members (30 days)"), "int"),
        ]
        sums = ["sales_count", "sales_amount", "paid_amount", "points_offset", "refund_amount"]
        sums += ["new_members"]
        data, total = [], {name: 0 for name in sums}
        by_store = defaultdict(lambda: defaultdict(Decimal))
        for row in rows:
            item = {column.key: getattr(row, column.key, None) for column in columns}
            item["store"] = str(row.store)
            data.append(item)
            for name in sums:
                total[name] += getattr(row, name)
            by_store[str(row.store)][row.day] += row.sales_amount
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        chart = charts.bar_line(
            _("Member sales by store"),
            [d.strftime("%m-%d") for d in days],
            bars=[(name, [series.get(d, ZERO) for d in days]) for name, series in by_store.items()],
            stack=True,
        )
        refreshed = rows[-1].refreshed_at if rows else None
        notes = []
        if refreshed:
            notes.append(
                _("Figures from the daily aggregates, refreshed %(when)s.")
                % {"when": timezone.localtime(refreshed).strftime("%Y-%m-%d %H:%M")}
            )
        return Result(
            tables=[Table(self.title, columns, data, total=total, page_rows=PAGE_ROWS)],
            charts=[chart],
            notes=notes,
            period=f"{first} – {last}",
        )


class PointsLiabilityReport(Report):
    slug = "points-liability"
    title = gettext_lazy("Points liability")
    description = gettext_lazy(
        "Outstanding points by issuing store and expiry month, their value and expected breakage."
    )
    date_labels = (gettext_lazy("expiring from"), gettext_lazy("expiring until"))

    def build(self, scope):
        # Every lot the balances still hold, those past their expiry included: the nightly job
        # has not expired them yet, so they are still owed (and can no longer be redeemed:
        # they are counted apart, all of them breakage).
        now = timezone.now()
        lots = PointsLot.objects.filter(remaining__gt=0)
        if scope.date_from:
            lots = lots.filter(expires_at__gte=figures.bounds(scope.date_from, scope.date_from)[0])
        if scope.date_to:
            lots = lots.filter(expires_at__lt=figures.bounds(scope.date_to, scope.date_to)[1])
        if scope.stores is not None:
            lots = lots.filter(entry__store_id__in=scope.stores)
        grouped = (
            lots.annotate(month=TruncMonth("expires_at", tzinfo=timezone.get_current_timezone()))
            .values("entry__store_id", "month")
            .annotate(
                points=Sum("remaining"),
                due=Sum("remaining", filter=Q(expires_at__lte=now)),
                members=Count("account_id", distinct=True),
            )
            .order_by("month", "entry__store_id")
        )
        rate = settlement.redemption_value(timezone.localdate())
        breakage, history = self._breakage(scope)
        names = _store_names()
        columns = [
            Column("store", _("Issuing store")),
            Column("month", _("Expiry month"), "month"),
            Column("points", _("Points outstanding"), "int"),
            Column("due_points", _("Of which past expiry, awaiting expiry (points)"), "int"),
            Column("value", _("Value (yuan)"), "money"),
            Column("breakage_points", _("Expected breakage (points)"), "int"),
            Column("breakage_value", _("Expected breakage (yuan)"), "money"),
            Column("expected_value", _("Expected to be redeemed (yuan)"), "money"),
        ]
        rows, total = [], defaultdict(Decimal)
        per_month = defaultdict(lambda: defaultdict(int))
        for g in grouped:
            points, due = g["points"] or 0, g["due"] or 0
            value = (Decimal(points) * rate).quantize(Decimal("0.01"))
            broken = due + int((Decimal(points - due) * breakage).to_integral_value())
            broken_value = (Decimal(broken) * rate).quantize(Decimal("0.01"))
            month = g["month"].date() if g["month"] else None
            row = {
                "store": _party(names, g["entry__store_id"]),
                "month": month if month else _("Never expires"),
                "points": points,
                "due_points": due,
                "value": value,
                "breakage_points": broken,
                "breakage_value": broken_value,
                "expected_value": value - broken_value,
            }
            rows.append(row)
            for name in (
                "points",
                "due_points",
                "value",
                "breakage_points",
                "breakage_value",
                "expected_value",
            ):
                total[name] += row[name]
            label = month.strftime("%Y-%m") if month else str(_("Never expires"))
            per_month[row["store"]][label] += points
        months = sorted({m for series in per_month.values() for m in series})
        chart = charts.bar_line(
            _("Outstanding points by expiry month"),
            months,
            bars=[
                (store, [series.get(m, 0) for m in months]) for store, series in per_month.items()
            ],
            stack=True,
            bar_kind="count",
        )
        history_columns = [
            Column("month", _("Month"), "month"),
            Column("redeemed", _("Points redeemed"), "int"),
            Column("expired", _("Points expired"), "int"),
            Column("rate", _("Redemption rate"), "percent"),
        ]
        notes = [
            _(
                "Value at the redemption rate in force today: %(rate)s yuan per point. Expected "
                "breakage applies the share of points that expired instead of being redeemed "
                "over the last 12 months: %(breakage)s."
            )
            % {"rate": f"{rate:.6f}", "breakage": f"{breakage * 100:.1f}%"},
            _(
                "Points past their expiry that the nightly expiry has not cleared yet are still "
                "in the members' balances, so they are counted here; they can no longer be "
                "redeemed, so all of them are expected breakage."
            ),
        ]
        return Result(
            tables=[
                Table(self.title, columns, rows, total=dict(total), page_rows=PAGE_ROWS),
                Table(_("Redemption rate by month"), history_columns, history),
            ],
            charts=[chart],
            notes=notes,
        )

    def _breakage(self, scope):
        """(share of points that expired rather than being redeemed over the last 12 months,
        the monthly history), from the daily aggregates."""
        today = timezone.localdate()
        since = date(today.year - 1, today.month, 1)
        stats = DailyStats.objects.filter(day__gte=since)
        stats = (
            stats.filter(store__isnull=True)
            if scope.stores is None
            else stats.filter(store_id__in=scope.stores)
        )
        history = []
        redeemed_total = expired_total = 0
        for row in (
            stats.annotate(month=TruncMonth("day"))
            .values("month")
            .annotate(redeemed=Sum("points_redeemed"), expired=Sum("points_expired"))
            .order_by("month")
        ):
            redeemed, expired = row["redeemed"] or 0, row["expired"] or 0
            redeemed_total += redeemed
            expired_total += expired
            left = redeemed + expired
            history.append(
                {
                    "month": row["month"],
                    "redeemed": redeemed,
                    "expired": expired,
                    "rate": Decimal(redeemed) / left if left else None,
                }
            )
        left = redeemed_total + expired_total
        breakage = (Decimal(expired_total) / left) if left else Decimal(0)
        return breakage.quantize(Decimal("0.0001")), history


class StoredValueReport(Report):
    slug = "stored-value"
    title = gettext_lazy("Stored-value liability and flows")
    description = gettext_lazy(
        "Principal and bonus outstanding by home store; recharges and spend by day and store."
    )

    def build(self, scope):
        first, last = _range(scope)
        liability, _total = wallet_reports.liability_by_store(scope.user)
        liability = [row for row in liability if scope.allows(row["store"].pk)]
        total = {"members": 0, "principal": ZERO, "bonus": ZERO, "total": ZERO}
        for row in liability:
            for name in total:
                total[name] += row[name]
            row["store"] = str(row["store"])
        flows = wallet_reports.flows_by_day_and_store(scope.user, first, last)
        flows = [row for row in flows if row["store"] is None or scope.allows(row["store"].pk)]
        if scope.stores is not None:
            flows = [row for row in flows if row["store"] is not None]
        per_day = defaultdict(lambda: [ZERO, ZERO])
        flow_total = defaultdict(Decimal)
        for row in flows:
            per_day[row["day"]][0] += row["recharge_principal"]
            per_day[row["day"]][1] += row["spend"]
            row["store"] = str(row["store"]) if row["store"] else _("Head office")
            for name in ("recharge_principal", "recharge_bonus", "spend", "withdrawn", "forfeited"):
                flow_total[name] += row[name]
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        chart = charts.bar_line(
            _("Stored value recharged and spent by day"),
            [d.strftime("%m-%d") for d in days],
            bars=[
                (_("Recharged (principal)"), [per_day[d][0] for d in days]),
                (_("Spent (net of refunds)"), [per_day[d][1] for d in days]),
            ],
        )
        liability_chart = charts.bar_line(
            _("Stored value outstanding by home store"),
            [row["store"] for row in liability],
            bars=[
                (_("Principal outstanding"), [row["principal"] for row in liability]),
                (_("Bonus outstanding"), [row["bonus"] for row in liability]),
            ],
            stack=True,
        )
        return Result(
            tables=[
                Table(
                    _("Stored-value liability"),
                    [
                        Column("store", _("Home store")),
                        Column("members", _("Members with a balance"), "int"),
                        Column("principal", _("Principal outstanding"), "money"),
                        Column("bonus", _("Bonus outstanding"), "money"),
                        Column("total", _("Total outstanding"), "money"),
                    ],
                    liability,
                    total=total,
                ),
                Table(
                    _("Recharges and spend by day and store"),
                    [
                        Column("day", _("Day"), "date"),
                        Column("store", _("Store")),
                        Column("recharge_principal", _("Recharged (principal)"), "money"),
                        Column("recharge_bonus", _("Recharge bonus given"), "money"),
                        Column("spend", _("Spent (net of refunds)"), "money"),
                        Column("withdrawn", _("Withdrawn"), "money"),
                        Column("forfeited", _("Bonus forfeited"), "money"),
                    ],
                    flows,
                    total=dict(flow_total),
                    page_rows=PAGE_ROWS,
                ),
            ],
            charts=[liability_chart, chart],
            period=f"{first} – {last}",
        )


class PointsExpiringReport(Report):
    slug = "points-expiring"
    title = gettext_lazy("Points expiring soon")
    description = gettext_lazy("Members whose points expire in the dates picked: who to remind.")
    date_labels = (gettext_lazy("expiring from"), gettext_lazy("expiring until"))

    def build(self, scope):
        first, last = _range(scope, forward=True)
        start, end = figures.bounds(first, last)
        start = max(start, timezone.now())
        lots = PointsLot.objects.filter(remaining__gt=0, expires_at__gt=start, expires_at__lt=end)
        if scope.stores is not None:
            lots = lots.filter(account__member__home_store_id__in=scope.stores)
        by_member = list(
            lots.values("account__member_id")
            .annotate(points=Sum("remaining"), first_expiry=Min("expires_at"))
            .order_by("first_expiry", "account__member_id")
        )
        members = Member.objects.in_bulk(
            [row["account__member_id"] for row in by_member], field_name="pk"
        )
        tiers = {tier.pk: tier.name for tier in Tier.objects.all()}
        names = _store_names()
        full_phone = scope.user.has_perm("members.view_full_phone")
        rows = []
        for row in by_member:
            member = members[row["account__member_id"]]
            rows.append(
                {
                    "member_no": member.member_no,
                    "name": member.name,
                    "phone": member.phone if full_phone else member.masked_phone,
                    "store": names.get(member.home_store_id, ""),
                    "tier": tiers.get(member.tier_id, ""),
                    "points": row["points"],
                    "first_expiry": timezone.localtime(row["first_expiry"]).date(),
                }
            )
        per_day = {
            row["day"]: row["points"]
            for row in lots.annotate(
                day=TruncDate("expires_at", tzinfo=timezone.get_current_timezone())
            )
            .values("day")
            .annotate(points=Sum("remaining"))
            .order_by("day")
        }
        days = sorted(per_day)
        chart = charts.bar_line(
            _("Points expiring by day"),
            [d.strftime("%m-%d") for d in days],
            bars=[(_("Points expiring"), [per_day[d] for d in days])],
            bar_kind="count",
        )
        columns = [
            Column("member_no", _("Member no")),
            Column("name", _("Name")),
            Column("phone", _("Mobile phone")),
            Column("store", _("Home store")),
            Column("tier", _("Tier")),
            Column("points", _("Points expiring"), "int"),
            Column("first_expiry", _("First expiry"), "date"),
        ]
        total = {"points": sum(row["points"] for row in rows)}
        return Result(
            tables=[Table(self.title, columns, rows, total=total, page_rows=PAGE_ROWS)],
            charts=[chart],
            notes=[_("%(count)d members to remind.") % {"count": len(rows)}],
            period=f"{first} – {last}",
        )


def _sales_in(scope, first, last):
    start, end = figures.bounds(first, last)
    sales = Sale.objects.filter(created_at__gte=start, created_at__lt=end)
    if scope.stores is not None:
        sales = sales.filter(store_id__in=scope.stores)
    return sales, start, end


def _average_ticket(sales):
    agg = sales.aggregate(n=Count("id"), total=Sum("total"))
    if not agg["n"]:
        return ZERO, 0
    return (agg["total"] / agg["n"]).quantize(Decimal("0.01")), agg["n"]


class TierAdviceReport(Report):
    slug = "tier-advice"
    title = gettext_lazy("Tier threshold advice")
    description = gettext_lazy(
        "The visits and spend that set the best fifth of members (the top 20%) apart, and 5 × "
        "the average ticket."
    )

    def build(self, scope):
        first, last = _range(scope, days_back=364)
        sales, start, end = _sales_in(scope, first, last)
        ticket, sale_count = _average_ticket(sales)
        sql, params = (
            sales.order_by()
            .values("member_id")
            .annotate(visits=Count("id"), spend=Sum("amount_due"))
            .values("visits", "spend")
            .query.sql_with_params()
        )
        quantiles = [Decimal(n) / 10 for n in range(1, 11)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT COUNT(*), percentile_cont(0.8) WITHIN GROUP (ORDER BY visits),
                        percentile_cont(0.8) WITHIN GROUP (ORDER BY spend),
                        percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY spend),
                        COALESCE(SUM(spend), 0)
                    FROM ({sql}) m""",
                [[float(q) for q in quantiles], *params],
            )
            members, p80_visits, p80_spend, deciles, spend_total = cursor.fetchone()
            top_share = None
            if members:
                cursor.execute(
                    f"""SELECT COALESCE(SUM(spend), 0) FROM (
                            SELECT spend FROM ({sql}) m ORDER BY spend DESC LIMIT %s) t""",
                    [*params, max(int(members * 0.2), 1)],
                )
                top = cursor.fetchone()[0]
                top_share = Decimal(top) / Decimal(spend_total) if spend_total else None
        advice = ticket * 5
        figures_rows = [
            {"figure": _("Members who bought"), "value": members, "kind": "int"},
            {"figure": _("Sales"), "value": sale_count, "kind": "int"},
            {"figure": _("Average ticket (yuan)"), "value": ticket, "kind": "money"},
            {
                "figure": _("Visits that put a member in the top 20%"),
                "value": Decimal(str(p80_visits or 0)).quantize(Decimal("0.1")),
                "kind": "figure1",
            },
            {
                "figure": _("Spend that puts a member in the top 20% (yuan)"),
                "value": Decimal(str(p80_spend or 0)).quantize(Decimal("0.01")),
                "kind": "money",
            },
            {
                "figure": _("Share of spend by the best fifth of members (20%)"),
                "value": top_share,
                "kind": "percent",
            },
            {
                "figure": _("Suggested first upgrade threshold: 5 × average ticket (yuan)"),
                "value": _round_to(advice, Decimal(10)),
                "kind": "money",
            },
        ]
        members_q = Member.objects.all()
        if scope.stores is not None:
            members_q = members_q.filter(home_store_id__in=scope.stores)
        counts = dict(
            members_q.values("tier_id").annotate(n=Count("id")).values_list("tier_id", "n")
        )
        tier_rows = [
            {
                "tier": tier.name,
                "rank": tier.rank,
                "upgrade_spend": tier.upgrade_spend,
                "upgrade_points": tier.upgrade_points,
                "window": tier.get_window_display(),
                "members": counts.get(tier.pk, 0),
            }
            for tier in Tier.objects.order_by("rank")
        ]
        if counts.get(None):
            tier_rows.append({"tier": _("No tier"), "members": counts[None]})
        labels = [f"P{int(q * 100)}" for q in quantiles]
        chart = charts.bar_line(
            _("Spend per member by decile"),
            labels,
            bars=[(_("Spend (yuan)"), [Decimal(str(v)) for v in (deciles or [0] * 10)])],
        )
        charts.with_mark_line(chart, _round_to(advice, Decimal(10)), _("5 × average ticket"))
        tier_chart = charts.pie(
            _("Members by tier"), [(row["tier"], row["members"]) for row in tier_rows]
        )
        return Result(
            tables=[
                Table(
                    _("The top 20% (二八原则)"),
                    [Column("figure", _("Figure")), Column("value", _("Value"), kind_key="kind")],
                    figures_rows,
                ),
                Table(
                    _("Today's tiers"),
                    [
                        Column("tier", _("Tier")),
                        Column("rank", _("Rank"), "int"),
                        Column("upgrade_spend", _("Upgrade at spend (yuan)"), "money"),
                        Column("upgrade_points", _("Upgrade at points earned"), "int"),
                        Column("window", _("Counted over")),
                        Column("members", _("Members"), "int"),
                    ],
                    tier_rows,
                ),
            ],
            charts=[chart, tier_chart],
            period=f"{first} – {last}",
        )


class RechargeAdviceReport(Report):
    slug = "recharge-advice"
    title = gettext_lazy("Recharge plan advice")
    description = gettext_lazy(
        "Recharge amounts at 2.5–3 × the average ticket; each plan's sales, bonus cost and "
        "repeat visits after recharge."
    )

    def build(self, scope):
        first, last = _range(scope, days_back=364)
        sales, start, end = _sales_in(scope, first, last)
        ticket, _n = _average_ticket(sales)
        advice = [
            {
                "multiple": f"{multiple} ×",
                "amount": ticket * Decimal(multiple),
                "suggested": _round_to(ticket * Decimal(multiple), Decimal(50)),
            }
            for multiple in ("2.5", "3")
        ]
        store_clause, store_params = "", []
        if scope.stores is not None:
            ids = list(scope.stores) or [None]
            store_clause = f" AND e.store_id IN ({', '.join(['%s'] * len(ids))})"
            store_params = ids
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT e.plan_id, COUNT(*), COALESCE(SUM(e.principal), 0),
                       COALESCE(SUM(e.bonus), 0), COUNT(DISTINCT w.member_id),
                       COALESCE(SUM(v.visits), 0),
                       COUNT(*) FILTER (WHERE v.visits > 0)
                FROM {WalletEntry._meta.db_table} e
                JOIN members_wallet w ON w.id = e.wallet_id
                CROSS JOIN LATERAL (
                    SELECT COUNT(*) AS visits FROM {Sale._meta.db_table} s
                    WHERE s.member_id = w.member_id AND s.created_at > e.created_at
                      AND s.created_at <= e.created_at + interval '30 days'
                ) v
                WHERE e.kind = %s AND e.created_at >= %s AND e.created_at < %s{store_clause}
                GROUP BY e.plan_id
                """,
                [WalletEntry.Kind.RECHARGE, start, end, *store_params],
            )
            grouped = cursor.fetchall()
        plans = RechargePlan.objects.in_bulk([row[0] for row in grouped if row[0]])
        rows = []
        for plan_id, count, principal, bonus, members, visits, came_back in grouped:
            plan = plans.get(plan_id)
            rows.append(
                {
                    "plan": str(plan) if plan else _("No plan"),
                    "pay_amount": plan.pay_amount if plan else None,
                    "ticket_multiple": (
                        (plan.pay_amount / ticket).quantize(Decimal("0.1"))
                        if plan and ticket
                        else None
                    ),
                    "recharges": count,
                    "principal": principal,
                    "bonus": bonus,
                    "bonus_rate": (bonus / principal) if principal else None,
                    "members": members,
                    "visits": (Decimal(visits) / count).quantize(Decimal("0.01")),
                    "came_back": Decimal(came_back) / count,
                }
            )
        rows.sort(key=lambda r: (r["pay_amount"] is None, r["pay_amount"] or 0))
        chart = charts.bar_line(
            _("Recharge plans: money in, bonus cost and visits after"),
            [row["plan"] for row in rows],
            bars=[
                (_("Recharged (principal)"), [row["principal"] for row in rows]),
                (_("Bonus cost"), [row["bonus"] for row in rows]),
            ],
            lines=[(_("Visits in 30 days after a recharge"), [row["visits"] for row in rows])],
            line_kind="figure2",
        )
        return Result(
            tables=[
                Table(
                    _("Suggested recharge amounts"),
                    [
                        Column("multiple", _("Multiple of the average ticket")),
                        Column("amount", _("Amount (yuan)"), "money"),
                        Column("suggested", _("Suggested plan amount (yuan)"), "money"),
                    ],
                    advice,
                    note=_("Average ticket in the period: %(ticket)s yuan.")
                    % {"ticket": Column("t", "", "money").display(ticket)},
                ),
                Table(
                    _("Recharge plans in the period"),
                    [
                        Column("plan", _("Recharge plan")),
                        Column("pay_amount", _("Recharge amount"), "money"),
                        Column("ticket_multiple", _("× average ticket"), "figure1"),
                        Column("recharges", _("Recharges"), "int"),
                        Column("principal", _("Recharged (principal)"), "money"),
                        Column("bonus", _("Bonus cost"), "money"),
                        Column("bonus_rate", _("Bonus rate"), "percent"),
                        Column("members", _("Members"), "int"),
                        Column("visits", _("Visits in 30 days after a recharge"), "figure2"),
                        Column("came_back", _("Came back within 30 days"), "percent"),
                    ],
                    rows,
                ),
            ],
            charts=[chart],
            period=f"{first} – {last}",
        )


# Each kind of value settled, as a column of the net positions: together they add up to the
# net (a kind missing here would leave the columns short of it; a test walks the kinds).
KIND_COLUMNS = {
    settlement.Kind.POINTS: gettext_lazy("Points (yuan)"),
    settlement.Kind.STORED_VALUE: gettext_lazy("Stored value (yuan)"),
    settlement.Kind.COUPON: gettext_lazy("Coupon discounts (yuan)"),
}


class SettlementReport(Report):
    slug = "settlement"
    title = gettext_lazy("Cross-store settlement")
    description = gettext_lazy(
        "Who owes whom each month for points and stored value taken in another store and for "
        "coupon discounts head office funds; each store's net position, cleared through head "
        "office."
    )
    form_class = MonthFilterForm

    def build(self, scope):
        month = scope.month or settlement.default_month()
        period = SettlementPeriod.objects.filter(month=month).first()
        if period is not None and period.computed_at is not None:
            lines = settlement.stored_lines(period)
        else:
            # Never computed: a live draft, not stored (a page view writes nothing).
            window = settlement.window_for(period or SettlementPeriod(month=month))
            lines = settlement.compute_lines(window)
        names = _store_names()
        visible = [
            line
            for line in lines
            if scope.stores is None or line.payer in scope.stores or line.payee in scope.stores
        ]
        positions = settlement.positions(lines)
        kinds = dict(settlement.SettlementLine.Kind.choices)
        line_rows = [
            {
                "kind": str(kinds[line.kind]),
                "payer": _party(names, line.payer),
                "payee": _party(names, line.payee),
                "points": line.points or None,
                "rate": line.rate,
                "amount": line.amount,
            }
            for line in sorted(
                visible, key=lambda ln: (ln.kind, ln.payer or 0, ln.payee or 0, ln.rate or 0)
            )
        ]
        parties = sorted(
            {p for line in visible for p in (line.payer, line.payee)}, key=lambda p: p or 0
        )
        grid = settlement.matrix(visible)
        matrix_columns = [Column("payer", _("Owes ↓ / is owed →"))] + [
            Column(f"p{p or 0}", _party(names, p), "money") for p in parties
        ]
        matrix_rows = []
        for payer in parties:
            row = {"payer": _party(names, payer)}
            for payee in parties:
                if (payer, payee) in grid:
                    row[f"p{payee or 0}"] = grid[(payer, payee)]
            matrix_rows.append(row)
        position_rows = []
        for party in sorted(positions, key=lambda p: (p is None, p or 0)):
            if scope.stores is not None and party not in scope.stores:
                continue
            position = positions[party]
            net = position.net
            if party is None:
                instruction = _("Clearing house")
            elif net > 0:
                instruction = _("Head office pays the store")
            elif net < 0:
                instruction = _("The store pays head office")
            else:
                instruction = ""
            position_rows.append(
                {
                    "party": _party(names, party),
                    **{kind: position.by_kind.get(kind, ZERO) for kind in KIND_COLUMNS},
                    "receivable": position.receivable,
                    "payable": position.payable,
                    "net": net,
                    "instruction": instruction,
                    "store_id": party,
                }
            )
        chart_rows = [row for row in position_rows if row["store_id"] is not None]
        chart = charts.bar_line(
            _("Net position by store (positive: is owed)"),
            [row["party"] for row in chart_rows],
            bars=[(_("Net position"), [row["net"] for row in chart_rows])],
        )
        status = period.get_status_display() if period is not None else _("Open (not yet computed)")
        notes = [
            _("Period %(month)s: %(status)s.")
            % {"month": month.strftime("%Y-%m"), "status": status}
        ]
        if period is not None and period.computed_at:
            notes.append(
                _("Lines computed %(when)s.")
                % {"when": timezone.localtime(period.computed_at).strftime("%Y-%m-%d %H:%M")}
            )
        franchise = [
            store
            for store in Store.objects.filter(kind=Store.Kind.FRANCHISE).order_by("code")
            if scope.allows(store.pk)
        ]
        return Result(
            tables=[
                Table(
                    _("Net positions and clearing through head office"),
                    [
                        Column("party", _("Party")),
                        *(Column(kind, title, "money") for kind, title in KIND_COLUMNS.items()),
                        Column("receivable", _("Is owed"), "money"),
                        Column("payable", _("Owes"), "money"),
                        Column("net", _("Net position"), "money"),
                        Column("instruction", _("Clearing")),
                    ],
                    position_rows,
                ),
                Table(_("Who owes whom (yuan)"), matrix_columns, matrix_rows),
                Table(
                    _("Settlement lines"),
                    [
                        Column("kind", _("Kind")),
                        Column("payer", _("Payer")),
                        Column("payee", _("Payee")),
                        Column("points", _("Points"), "int"),
                        Column("rate", _("Yuan per point"), "rate"),
                        Column("amount", _("Amount"), "money"),
                    ],
                    line_rows,
                ),
            ],
            charts=[chart],
            notes=notes,
            period=month.strftime("%Y-%m"),
            extra={
                "period": period,
                "month": month,
                "franchise_stores": franchise,
                "lines": lines,
                "names": names,
            },
        )


REPORTS = [
    SalesByStoreReport(),
    PointsLiabilityReport(),
    StoredValueReport(),
    SettlementReport(),
    TierAdviceReport(),
    RechargeAdviceReport(),
    PointsExpiringReport(),
]
BY_SLUG = {report.slug: report for report in REPORTS}
