"""Admin for sales and refunds: read-only, with their lines, scoped by store."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, ReadOnlyInline, money_column
from members.admin.common import MemberSearchMixin
from stores.access import StoreScopedAdminMixin

from .models import Refund, RefundLine, Sale, SaleLine


class SaleLineInline(ReadOnlyInline):
    model = SaleLine
    fields = [
        "line_no",
        "sku",
        "name",
        "category",
        "qty",
        "amount",
        "points_earned",
        "points_redeemed",
        "offset_amount",
        "stored_value_amount",
        "coupon_discount",
    ]
    readonly_fields = fields


@admin.register(Sale)
class SaleAdmin(MemberSearchMixin, StoreScopedAdminMixin, ReadOnlyAdmin):
    # Newest first by id: rows are appended as they happen, and the primary key orders tens of
    # millions of them without a sort (the model's -created_at ordering would sort them all).
    ordering = ["-id"]
    list_display = [
        "created_at",
        "store",
        "receipt_no",
        "member",
        money_column("total", model=Sale),
        money_column("offset_amount", model=Sale),
        money_column("stored_value_amount", model=Sale),
        "points_earned",
        "points_redeemed",
        "tier_after",
    ]
    list_filter = ["store", "source"]
    list_select_related = ["store", "member", "tier_after"]
    search_fields = ["=receipt_no", "=member__member_no"]  # see MemberSearchMixin
    search_help_text = _("Receipt no, member no, full phone or card no.")

    def search_other(self, queryset, term):
        return queryset.filter(receipt_no=term)

    raw_id_fields = ["member", "wallet_entry", "redeem_entry", "earn_entry"]
    inlines = [SaleLineInline]

    def has_change_permission(self, request, obj=None):
        return False


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    fields = [
        "sale_line",
        "qty",
        "amount",
        "points_reversed",
        "points_returned",
        "offset_returned",
        "stored_value_returned",
    ]
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "store",
        "refund_no",
        "sale",
        money_column("amount", model=Refund),
        "points_reversed",
        "points_returned",
        money_column("stored_value_returned", model=Refund),
    ]
    list_filter = ["store"]
    list_select_related = ["store", "sale__store"]
    search_fields = ["=refund_no", "=sale__receipt_no"]
    raw_id_fields = ["sale", "member", "return_entry", "reverse_entry"]
    inlines = [RefundLineInline]
