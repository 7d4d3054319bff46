"""Campaigns to Excel: a segment's members with their statistics, and a campaign's report. Real
numbers with number formats (money #,##0.00, counts #,##0, rates as percentages), written row by
row by core.excel (no cell is ever a formula), members streamed from the database in chunks."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from core import excel
from members.models import mask_phone

from .models import LapseStage, RfmCell


def segment_workbook(queryset, *, full_phone):
    """The members of a segment (a Member queryset) with their statistics."""
    rows = queryset.order_by("pk").values_list(
        "member_no",
        "name",
        "phone",
        "home_store__code",
        "tier__name",
        "last_visit_at",
        "stats__visits_30",
        "stats__visits_90",
        "stats__visits_365",
        "stats__spend_30",
        "stats__spend_90",
        "stats__spend_365",
        "stats__avg_ticket",
        "stats__median_gap_days",
        "stats__rfm_cell",
        "stats__lapse_stage",
        "stats__favourite_store__code",
        "stats__points_expiring_30",
        "stats__unused_coupons",
    )
    cells, stages = dict(RfmCell.choices), dict(LapseStage.choices)
    workbook = excel.Book()
    sheet = workbook.sheet(_("Members"))
    sheet.header(
        [
            _("Member no"),
            _("Name"),
            _("Mobile phone"),
            _("Home store"),
            _("Tier"),
            _("Last visit"),
            _("Visits, 30 days"),
            _("Visits, 90 days"),
            _("Visits, 365 days"),
            _("Spend, 30 days"),
            _("Spend, 90 days"),
            _("Spend, 365 days"),
            _("Average ticket"),
            _("Median days between visits"),
            _("RFM cell"),
            _("Lapse stage"),
            _("Favourite store"),
            _("Points expiring in 30 days"),
            _("Unused coupons"),
        ]
    )
    for row in rows.iterator(chunk_size=5000):
        (member_no, name, phone, store, tier, last_visit, v30, v90, v365, s30, s90, s365,
         ticket, gap, cell, stage, favourite, expiring, coupons) = row  # fmt: skip
        sheet.row(
            [
                excel.text(member_no),
                name,
                excel.text(phone if full_phone else mask_phone(phone)),
                excel.text(store),
                tier or "",
                excel.when(last_visit),
                excel.count(v30),
                excel.count(v90),
                excel.count(v365),
                excel.money(s30),
                excel.money(s90),
                excel.money(s365),
                excel.money(ticket),
                excel.figure(gap, 1),
                str(cells.get(cell, "")) if cell else "",
                str(stages.get(stage, "")) if stage else "",
                excel.text(favourite or ""),
                excel.count(expiring),
                excel.count(coupons),
            ]
        )
    return workbook


def segment_response(segment, queryset, *, full_phone):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return segment_workbook(queryset, full_phone=full_phone).response(
        f"segment-{segment.pk}-{stamp}.xlsx"
    )


def report_workbook(report):
    """Three sheets: the figures, the arms side by side, and sales per member by day."""
    workbook = excel.Book()
    summary = workbook.sheet(_("Summary"))
    campaign = report["campaign"]
    summary.header([_("Figure"), _("Value")])
    summary.row([_("Campaign"), f"{campaign['code']} {campaign['name']}"])
    summary.row([_("Segment"), campaign["segment"]])
    summary.row([_("As of"), excel.when(datetime.fromisoformat(report["as_of"]))])
    ci = report["lift_ci"] or [None, None]
    money, count, rate = excel.money, excel.count, excel.rate

    def ratio(value):
        return excel.figure(value, 4)

    figures = [
        (_("Coupons issued (offers given)"), count(report["issued"])),
        (_("Used"), count(report["used"])),
        (_("Usage rate"), rate(report["usage_rate"])),
        (_("Driven members"), count(report["driven_members"])),
        (_("Driven sales per member"), money(report["driven_sales_per_member"])),
        (_("Driven sales"), money(report["driven_sales"])),
        (_("Coupon value used"), money(report["coupon_value_used"])),
        (_("Coupon leverage"), ratio(report["leverage"])),
        (_("Incremental buyers"), count(report["incremental_buyers"])),
        (_("Incremental sales"), money(report["incremental_sales"])),
        (_("Incremental leverage"), ratio(report["incremental_leverage"])),
        (_("Lift on sales per member"), rate(report["lift"])),
        (_("Lift, interval low (95%)"), rate(ci[0])),
        (_("Lift, interval high (95%)"), rate(ci[1])),
        (_("p-value"), ratio(report["p_value"])),
        (_("Sample ratio p-value"), ratio(report["srm_p_value"])),
        (_("Adjusted for spend before entry (CUPED)"), _("yes") if report["cuped"] else _("no")),
    ]
    for label, value in figures:
        summary.row([label, value])
    arms = workbook.sheet(_("Arms"))
    arms.header(
        [
            _("Arm"),
            _("Members"),
            _("Buyers"),
            _("Conversion"),
            _("Sales"),
            _("Sales per member"),
            _("Visits per member"),
        ]
    )
    for key, label in (("treatment", _("Treatment")), ("control", _("Control"))):
        arm = report["arms"][key]
        arms.row(
            [
                label,
                count(arm["members"]),
                count(arm["buyers"]),
                rate(arm["conversion"]),
                money(arm["sales"]),
                money(arm["sales_per_member"]),
                excel.figure(arm["visits_per_member"], 2),
            ]
        )
    if "series" in report:
        days = workbook.sheet(_("By day"))
        days.header([_("Day since entry"), _("Treatment"), _("Control")])
        treated, control = report["series"]["treatment"], report["series"]["control"]
        for day, (t, c) in enumerate(zip(treated, control, strict=True)):
            days.row([excel.Value(day, excel.WHOLE), money(t), money(c)])
    return workbook


def report_response(report):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    code = report["campaign"]["code"]
    return report_workbook(report).response(f"campaign-{code}-{stamp}.xlsx")
