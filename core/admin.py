"""Admin pieces every app uses: read-only pages for ledgers and records written by services."""

from django.contrib import admin


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
