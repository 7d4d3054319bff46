from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from rest_framework_api_key.admin import APIKeyModelAdmin

from core.admin import ColumnTitleExportForm

from .access import StoreScopedAdminMixin
from .models import Region, Staff, Store, Terminal, TerminalAPIKey
from .resources import StaffResource
from .services import revoke_terminal_keys


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Store)
class StoreAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_field = "id"
    list_display = ["code", "name", "kind", "region", "city", "phone", "is_active"]
    list_filter = ["kind", "region", "is_active"]
    search_fields = ["=code", "name", "city"]


@admin.register(Staff)
class StaffAdmin(StoreScopedAdminMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [StaffResource]
    export_form_class = ColumnTitleExportForm
    list_display = ["employee_no", "name", "store", "role", "user", "is_active"]
    list_filter = ["store", "role", "is_active"]
    search_fields = ["=employee_no", "name"]
    list_select_related = ["store", "user"]
    raw_id_fields = ["user"]

    def export_action(self, request):
        # django-import-export reads the export page's query string as list filters; one it
        # cannot apply (a typed or stale URL) was a 500. Back to the list, as Django does.
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:stores_staff_changelist") + "?e=1")

    def get_valid_export_item_pks(self, request):
        # The rows picked on the list may be exported only if this user sees them (the
        # library's default offers every row of the table and warns that it is deprecated).
        return self.get_queryset(request).values_list("pk", flat=True)


class TerminalAPIKeyInline(admin.TabularInline):
    model = TerminalAPIKey
    fields = ["name", "prefix", "created", "revoked"]
    readonly_fields = ["name", "prefix", "created"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # keys are made by `create_terminal`, which shows the key once


@admin.register(Terminal)
class TerminalAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "name", "store", "is_active", "last_seen_at"]
    list_filter = ["store", "is_active"]
    list_select_related = ["store"]
    readonly_fields = ["last_seen_at", "created_at"]
    inlines = [TerminalAPIKeyInline]
    actions = ["revoke_keys"]

    @admin.action(description=_("Revoke the API keys of the selected tills"))
    def revoke_keys(self, request, queryset):
        count = sum(revoke_terminal_keys(terminal=t) for t in queryset)
        self.message_user(
            request, _("%(count)d keys revoked.") % {"count": count}, messages.SUCCESS
        )


@admin.register(TerminalAPIKey)
class TerminalAPIKeyAdmin(StoreScopedAdminMixin, APIKeyModelAdmin):
    store_field = "terminal__store"
    list_display = ["prefix", "name", "terminal", "created", "expiry_date", "expired", "revoked"]
    list_filter = ["revoked", "created"]
    list_select_related = ["terminal__store"]

    @admin.display(boolean=True, description=_("expired"))
    def expired(self, obj):
        return obj.has_expired

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        # The library's own message is English and formatted before translation.
        key = self.model.objects.assign_key(obj)
        obj.save()
        messages.warning(
            request,
            gettext(
                "The API key for %(name)s is %(key)s. Copy it now into the till: it is not "
                "shown again."
            )
            % {"name": obj.name, "key": key},
        )
