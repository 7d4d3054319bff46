"""Admin of what head office types in for the reports (store takings, settlement rates) and
the settlement periods (read-only: they are computed and closed from the settlement report)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, money_column
from stores.access import StoreScopedAdminMixin

from .models import SettlementPeriod, SettlementRate, StoreTakings


@admin.register(StoreTakings)
class StoreTakingsAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """A store's total takings per day: the denominator of the members' share of sales."""

    list_display = [
        "day",
        "store",
        money_column("amount", model=StoreTakings),
        "created_by",
        "created_at",
    ]
    list_filter = ["store"]
    list_select_related = ["store", "created_by"]
    fields = ["store", "day", "amount"]
    date_hierarchy = "day"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SettlementRate)
class SettlementRateAdmin(admin.ModelAdmin):
    list_display = ["effective_from", "yuan_per_point", "note", "created_by"]
    fields = ["effective_from", "yuan_per_point", "note"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SettlementPeriod)
class SettlementPeriodAdmin(ReadOnlyAdmin):
    list_display = ["month", "status", "computed_at", "closed_at", "closed_by", "report_link"]
    list_filter = ["status"]
    list_select_related = ["closed_by"]

    @admin.display(description=_("report"))
    def report_link(self, obj):
        url = reverse("admin:reports_report", args=["settlement"])
        return format_html(
            '<a href="{}?{}">{}</a>', url, urlencode({"month": f"{obj.month:%Y-%m}"}), _("open")
        )
