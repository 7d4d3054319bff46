"""Admin pages of the reports app: the dashboard (the admin home), the reports menu and every
report with its Excel export, and the settlement period actions. The admin site
(config/admin.py) mounts them under /admin/report/ behind its login."""

from collections import defaultdict
from decimal import Decimal
from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core import excel
from core.errors import DomainError
from core.models import Source
from stores.access import allowed_store_ids
from stores.models import Store

from . import dashboard as dashboard_figures
from . import services, settlement
from .reports import BY_SLUG, REPORTS, scope_for
from .tables import Column, Table, workbook

VIEW_PERMISSION = "reports.view_reports"
CLOSE_PERMISSION = "reports.close_settlementperiod"


def can_view(user):
    return user.is_active and user.has_perm(VIEW_PERMISSION)


def menu(user):
    """The reports menu: every report this user may open (empty without the permission)."""
    if not can_view(user):
        return []
    items = [
        {
            "slug": report.slug,
            "title": str(report.title),
            "description": str(report.description),
            "url": reverse("admin:reports_report", args=[report.slug]),
        }
        for report in REPORTS
    ]
    if user.has_perm("campaigns.view_campaign"):
        # The campaign reports live with their campaigns; the menu leads to the list of them.
        items.append(
            {
                "slug": "campaigns",
                "title": str(_("Campaign results")),
                "description": str(
                    _(
                        "What each campaign earned against its control group: usage rate, "
                        "driven sales, incremental sales with their interval."
                    )
                ),
                "url": reverse("admin:campaigns_campaign_changelist"),
            }
        )
    return items


def admin_urls(site):
    view = site.admin_view
    return [
        path("report/", view(partial(reports_index, site=site)), name="reports_index"),
        path("report/<slug:slug>/", view(partial(report_view, site=site)), name="reports_report"),
    ]


def _charts(options):
    return [
        {"id": f"chart-{n}", "options_id": f"chart-{n}-options", "options": option}
        for n, option in enumerate(options, 1)
    ]


def dashboard(request, site):
    """The admin home for users who may see reports."""
    data = dashboard_figures.build(request.user)
    if data["is_chain"]:
        title = _("Head-office dashboard")
    else:  # whose stores it shows, as the console title says it
        title = _("Store dashboard: %(stores)s") % {"stores": site.whose_stores(request)}
    context = {
        **site.each_context(request),
        "title": title,
        "dashboard": data,
        "charts": _charts(data["charts"]),
        "reports_menu": menu(request.user),
        "app_list": site.get_app_list(request),
    }
    return TemplateResponse(request, "reports/dashboard.html", context)


def reports_index(request, site):
    if not can_view(request.user):
        raise PermissionDenied
    context = {
        **site.each_context(request),
        "title": _("Reports"),
        "reports_menu": menu(request.user),
    }
    return TemplateResponse(request, "reports/index.html", context)


def _xlsx(content, filename):
    return excel.download(content, filename)


def report_view(request, slug, site):
    if not can_view(request.user):
        raise PermissionDenied
    report = BY_SLUG.get(slug)
    if report is None:
        raise Http404
    if request.method == "POST" and slug == "settlement":
        return _settlement_action(request)
    form = report.form(request)
    form.is_valid()  # errors are shown; the report falls back to its default dates
    scope = scope_for(request, form)
    result = report.build(scope)
    title = str(report.title)
    if request.GET.get("format") == "xlsx":
        return _xlsx(
            workbook([(title, result.tables)], _("Total")),
            f"{slug}-{result.period or 'report'}.xlsx".replace(" ", "").replace("–", "_"),
        )
    if slug == "settlement" and request.GET.get("statement"):
        return _statement(request, scope, result)
    query = request.GET.copy()
    query["format"] = "xlsx"
    context = {
        **site.each_context(request),
        "title": title,
        "report": report,
        "form": form,
        "result": result,
        "charts": _charts(result.charts),
        "export_url": f"?{query.urlencode()}",
        "reports_menu": menu(request.user),
        "can_close": request.user.has_perm(CLOSE_PERMISSION),
    }
    return TemplateResponse(request, "reports/report.html", context)


def _settlement_action(request):
    """Recompute an open month's draft, or close a finished month (head office)."""
    if not request.user.has_perm(CLOSE_PERMISSION):
        raise PermissionDenied
    month = settlement.month_start_of(request.POST.get("month", ""))
    back = reverse("admin:reports_report", args=["settlement"])
    if month is None:
        messages.error(request, _("Enter a month as YYYY-MM."))
        return HttpResponseRedirect(back)
    back += "?" + urlencode({"month": month.strftime("%Y-%m")})
    action = request.POST.get("action")
    try:
        if action == "close":
            services.close_settlement_period(month=month, actor=request.user, source=Source.ADMIN)
            messages.success(request, _("The period is closed; its figures never change."))
        elif action == "compute":
            services.compute_settlement(month=month, actor=request.user, source=Source.ADMIN)
            messages.success(request, _("The draft was recomputed."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(back)


def _statement(request, scope, result):
    """One store's settlement statement for the month (对账单), as an .xlsx."""
    try:
        store = Store.objects.get(pk=int(request.GET["statement"]))
    except (ValueError, Store.DoesNotExist):
        raise Http404 from None
    allowed = allowed_store_ids(request.user)
    if allowed is not None and store.pk not in allowed:
        raise PermissionDenied
    extra = result.extra
    names = extra["names"]
    kinds = dict(settlement.SettlementLine.Kind.choices)
    rows = []
    for line in extra["lines"]:
        if store.pk not in (line.payer, line.payee):
            continue
        owes = line.payer == store.pk
        other = line.payee if owes else line.payer
        rows.append(
            {
                "kind": str(kinds[line.kind]),
                "counterparty": _("Head office") if other is None else names.get(other, ""),
                "direction": _("We owe") if owes else _("We are owed"),
                "points": line.points or None,
                "rate": line.rate,
                "amount": -line.amount if owes else line.amount,
            }
        )
    position = settlement.positions(extra["lines"]).get(store.pk)
    net = position.net if position else 0
    summary = [
        {"figure": _("Store"), "value": str(store)},
        {"figure": _("Month"), "value": extra["month"], "kind": "month"},
        {
            "figure": _("Status"),
            "value": extra["period"].get_status_display() if extra["period"] else _("Draft"),
        },
        {"figure": _("Net position (yuan)"), "value": net, "kind": "money"},
        {
            "figure": _("Clearing"),
            "value": (
                _("Head office pays the store")
                if net > 0
                else _("The store pays head office")
                if net < 0
                else _("Nothing to pay")
            ),
        },
    ]
    tables = [
        Table(
            _("Settlement statement"),
            [Column("figure", _("Figure")), Column("value", _("Value"), kind_key="kind")],
            summary,
        ),
        _statement_by_kind(extra["lines"], store.pk, kinds),
        Table(
            _("Lines"),
            [
                Column("kind", _("Kind")),
                Column("counterparty", _("Counterparty")),
                Column("direction", _("Direction")),
                Column("points", _("Points"), "int"),
                Column("rate", _("Yuan per point"), "rate"),
                Column("amount", _("Amount (+ owed to us, − we owe)"), "money"),
            ],
            rows,
            total={"amount": sum((r["amount"] for r in rows), 0)},
        ),
    ]
    return _xlsx(
        workbook([(_("Settlement statement"), tables)], _("Total")),
        f"statement-{store.code}-{extra['month']:%Y-%m}.xlsx",
    )


def _statement_by_kind(lines, store_id, kinds):
    """A statement's net broken down by every kind of value settled (points, stored value,
    coupon funding), zeros included: the rows add up to the store's net position."""
    owed, owes = defaultdict(Decimal), defaultdict(Decimal)
    for line in lines:
        if line.payee == store_id:
            owed[line.kind] += line.amount
        if line.payer == store_id:
            owes[line.kind] += line.amount
    rows = [
        {"kind": str(label), "owed": owed[kind], "owes": owes[kind], "net": owed[kind] - owes[kind]}
        for kind, label in kinds.items()
    ]
    return Table(
        _("By kind"),
        [
            Column("kind", _("Kind")),
            Column("owed", _("We are owed"), "money"),
            Column("owes", _("We owe"), "money"),
            Column("net", _("Net position"), "money"),
        ],
        rows,
        total={name: sum((r[name] for r in rows), Decimal(0)) for name in ("owed", "owes", "net")},
    )
