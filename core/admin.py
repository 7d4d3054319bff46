"""Admin pieces every app uses: read-only pages for ledgers and records written by services."""

from django.contrib import admin
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and records written by services: nobody adds, edits or deletes them here."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HistoryAdmin(SimpleHistoryAdmin):
    """A page with its change history (who, where, why). History is read-only (reverting would
    bypass the services), and only for objects the user may see: simple-history falls back to
    the history of an object outside the user's queryset, which would show another store's
    member to a store manager."""

    history_list_display = ["history_source"]

    def history_view(self, request, object_id, extra_context=None):
        if not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        raise Http404  # no reverting from history: every change goes through a service
