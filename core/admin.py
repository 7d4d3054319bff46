"""Admin pieces every app uses: read-only pages for ledgers and records written by services."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


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
