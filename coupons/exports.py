"""Coupons to Excel: the issued-coupons list as filtered in the admin, and the codes of a print
run. Real numbers and dates with a number format, so finance can add them up; times in
Shanghai time (Excel has no time zones). Written by core.excel (no cell is ever a formula)."""

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core import excel

from .models import Coupon, CouponEvent


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
    now = timezone.now()
    workbook = excel.Book()
    sheet = workbook.sheet(_("Coupons"))
    sheet.header(
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
        sheet.row(
            [
                excel.text(code),
                excel.text(template_code),
                template_name,
                excel.text(member_no or ""),
                member or "",
                Coupon.status_shown(status, valid_until, now),
                excel.when(valid_from, excel.SECOND),
                excel.when(valid_until, excel.SECOND),
                excel.when(issued_at, excel.SECOND),
                excel.when(used_at, excel.SECOND),
                excel.text(store or ""),
                excel.text(receipt),
                excel.money(amount if status == Coupon.Status.USED else None),
            ]
        )
    return workbook


def coupons_response(queryset):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return coupons_workbook(queryset).response(f"coupons-{stamp}.xlsx")


def codes_response(template, codes):
    """The codes of a print run, one per row, to hand to the printer."""
    version = template.current_version
    workbook = excel.Book()
    sheet = workbook.sheet(_("Codes"))
    sheet.header([_("Coupon code"), _("Template"), _("Face value")])
    for code in codes:
        sheet.row([excel.text(code), template.name, excel.money(version.face_value)])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return workbook.response(f"coupon-codes-{template.code}-{stamp}.xlsx")
