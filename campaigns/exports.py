"""Campaigns to Excel: a segment's members with their statistics, and a campaign's report. Real
numbers with number formats (money #,##0.00, rates as percentages), written row by row
(openpyxl write-only), members streamed from the database in chunks."""

from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from members.models import mask_phone

from .models import LapseStage, RfmCell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY = "#,##0.00"
COUNT = "#,##0"
RATE = "0.00%"
DECIMAL = "0.0000"
TIME = "yyyy-mm-dd hh:mm"


def _cell(sheet, value, number_format=None):
    cell = WriteOnlyCell(sheet, value=value)
    if number_format and value is not None:
        cell.number_format = number_format
    return cell


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _response(workbook, filename):
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Members"))
    sheet.append(
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
        sheet.append(
            [
                member_no,
                name,
                phone if full_phone else mask_phone(phone),
                store,
                tier or "",
                _cell(sheet, _local(last_visit), TIME),
                _cell(sheet, v30, COUNT),
                _cell(sheet, v90, COUNT),
                _cell(sheet, v365, COUNT),
                _cell(sheet, s30, MONEY),
                _cell(sheet, s90, MONEY),
                _cell(sheet, s365, MONEY),
                _cell(sheet, ticket, MONEY),
                _cell(sheet, gap, "0.0"),
                str(cells.get(cell, "")) if cell else "",
                str(stages.get(stage, "")) if stage else "",
                favourite or "",
                _cell(sheet, expiring, COUNT),
                _cell(sheet, coupons, COUNT),
            ]
        )
    return workbook


def segment_response(segment, queryset, *, full_phone):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _response(
        segment_workbook(queryset, full_phone=full_phone), f"segment-{segment.pk}-{stamp}.xlsx"
    )


def report_workbook(report):
    """Three sheets: the figures, the arms side by side, and sales per member by day."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(_("Summary"))
    campaign = report["campaign"]
    summary.append([_("Campaign"), f"{campaign['code']} {campaign['name']}"])
    summary.append([_("Segment"), campaign["segment"]])
    summary.append([_("As of"), report["as_of"]])
    ci = report["lift_ci"] or [None, None]
    figures = [
        (_("Coupons issued (offers given)"), report["issued"], COUNT),
        (_("Used"), report["used"], COUNT),
        (_("Usage rate"), report["usage_rate"], RATE),
        (_("Driven members"), report["driven_members"], COUNT),
        (_("Driven sales per member"), report["driven_sales_per_member"], MONEY),
        (_("Driven sales"), report["driven_sales"], MONEY),
        (_("Coupon value used"), report["coupon_value_used"], MONEY),
        (_("Coupon leverage"), report["leverage"], DECIMAL),
        (_("Incremental buyers"), report["incremental_buyers"], MONEY),
        (_("Incremental sales"), report["incremental_sales"], MONEY),
        (_("Incremental leverage"), report["incremental_leverage"], DECIMAL),
        (_("Lift on sales per member"), report["lift"], RATE),
        (_("Lift, interval low (95%)"), ci[0], RATE),
        (_("Lift, interval high (95%)"), ci[1], RATE),
        (_("p-value"), report["p_value"], DECIMAL),
        (_("Sample ratio p-value"), report["srm_p_value"], DECIMAL),
        (_("Adjusted for spend before entry (CUPED)"), _("yes") if report["cuped"] else _("no"),
         None),
    ]  # fmt: skip
    for label, value, number_format in figures:
        summary.append([label, _cell(summary, value, number_format)])
    arms = workbook.create_sheet(_("Arms"))
    arms.append(
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
        arms.append(
            [
                label,
                _cell(arms, arm["members"], COUNT),
                _cell(arms, arm["buyers"], COUNT),
                _cell(arms, arm["conversion"], RATE),
                _cell(arms, arm["sales"], MONEY),
                _cell(arms, arm["sales_per_member"], MONEY),
                _cell(arms, arm["visits_per_member"], "0.00"),
            ]
        )
    if "series" in report:
        days = workbook.create_sheet(_("By day"))
        days.append([_("Day since entry"), _("Treatment"), _("Control")])
        treated, control = report["series"]["treatment"], report["series"]["control"]
        for day, (t, c) in enumerate(zip(treated, control, strict=True)):
            days.append([day, _cell(days, t, MONEY), _cell(days, c, MONEY)])
    return workbook


def report_response(report):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    code = report["campaign"]["code"]
    return _response(report_workbook(report), f"campaign-{code}-{stamp}.xlsx")
