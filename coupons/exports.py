"""Coupons to Excel: the issued-coupons list as filtered in the admin, and the codes of a print
run. Real numbers and dates with a number format, so finance can add them up; times in
Shanghai time (Excel has no time zones)."""

from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .models import Coupon, CouponEvent

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY = "#,##0.00"
TIME = "yyyy-mm-dd hh:mm:ss"


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _cell(sheet, value, number_format=None):
    cell = WriteOnlyCell(sheet, value=value)
    if number_format and value is not None:
        cell.number_format = number_format
    return cell


def _response(workbook, filename):
    from io import BytesIO

    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def coupons_workbook(queryset):
    """A write-only workbook of the coupons in `queryset` (streamed from the database in
    chunks), with the discount each used coupon gave."""
    discount = CouponEvent.objects.filter(
        coupon=OuterRef("pk"), kind=CouponEvent.Kind.USED
    ).order_by("-created_at", "-id")
    rows = (
        queryset.order_by("-issued_at", "-id")
        .annotate(discount=Subquery(discount.values("discount")[:1]))
        .values_list(
            "code",
            "template__code",
            "template__name",
            "owner__member_no",
            "owner__name",
            "status",
            "valid_from",
            "valid_until",
            "issued_at",
            "used_at",
            "used_store__code",
            "used_reference",
            "discount",
        )
    )
    statuses = dict(Coupon.Status.choices)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Coupons"))
    sheet.append(
        [
            _("Coupon code"),
            _("Template code"),
            _("Template"),
            _("Member no"),
            _("Member"),
            _("Status"),
            _("Valid from"),
            _("Valid until"),
            _("Issued at"),
            _("Used at"),
            _("Used at store"),
            _("Receipt"),
            _("Discount"),
        ]
    )
    for row in rows.iterator(chunk_size=5000):
        (code, template_code, template_name, member_no, member, status, valid_from,
         valid_until, issued_at, used_at, store, receipt, amount) = row  # fmt: skip
        sheet.append(
            [
                code,
                template_code,
                template_name,
                member_no or "",
                member or "",
                str(statuses.get(status, status)),
                _cell(sheet, _local(valid_from), TIME),
                _cell(sheet, _local(valid_until), TIME),
                _cell(sheet, _local(issued_at), TIME),
                _cell(sheet, _local(used_at), TIME),
                store or "",
                receipt,
                _cell(sheet, amount if status == Coupon.Status.USED else None, MONEY),
            ]
        )
    return workbook


def coupons_response(queryset):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _response(coupons_workbook(queryset), f"coupons-{stamp}.xlsx")


def codes_response(template, codes):
    """The codes of a print run, one per row, to hand to the printer."""
    version = template.current_version
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Codes"))
    sheet.append([_("Coupon code"), _("Template"), _("Face value")])
    for code in codes:
        sheet.append([code, template.name, _cell(sheet, version.face_value, MONEY)])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _response(workbook, f"coupon-codes-{template.code}-{stamp}.xlsx")
