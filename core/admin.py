"""Admin pieces every app uses: read-only pages for ledgers and records written by services."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import Http404
from django.utils.functional import cached_property
from import_export.forms import SelectableFieldsExportForm
from simple_history.admin import SimpleHistoryAdmin


class EstimatedCountPaginator(Paginator):
    """Above `threshold` rows, trust the planner's estimate instead of COUNT(*).

    A COUNT(*) over millions of members or ledger entries takes seconds on every page; the
    estimate is instant and a page count that is off by a few percent does not matter to
    anyone paging a list.
    """

    threshold = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if isinstance(queryset, QuerySet):
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
            with connections[queryset.db].cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > self.threshold:
                return estimate
        return super().count


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and records written by services: nobody adds, edits or deletes them here.
    Ledgers grow to tens of millions of rows: no exact COUNT(*) on their lists."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator

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


def money_column(field_name, description=None, *, model=None):
    """A list column showing a money field as 14,154.24 (two decimals, thousands separators),
    sortable by the field (right-aligned by static/admin/css/loyalty.css). `description`
    defaults to the field's verbose name (give `model`)."""
    from .formatting import format_money

    if description is None:
        description = model._meta.get_field(field_name).verbose_name

    @admin.display(description=description, ordering=field_name)
    def column(obj):
        value = obj
        for part in field_name.split("__"):
            value = getattr(value, part, None) if value is not None else None
        return format_money(value)

    column.__name__ = f"{field_name}_money"
    column.money_field = field_name  # the guard test reads it
    return column


class ColumnTitleExportForm(SelectableFieldsExportForm):
    """django-import-export's export form, each field named by its column title (a resource's
    column_name, as the spreadsheet will head it) instead of its attribute name title-cased in
    English ("Employee No")."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field is not None else field_name
