"""Helpers shared by the members admin pages."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

from config.errors import DomainError


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, above `threshold` rows trust the planner's estimate instead of COUNT(*).

    A COUNT(*) over millions of members takes seconds on every page; the estimate is instant
    and a page count that is off by a few percent does not matter to anyone paging a list.
    """

    threshold = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if connection.vendor == "postgresql" and isinstance(queryset, QuerySet):
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > self.threshold:
                return estimate
        return super().count


def apply_domain_error(request, form, error: DomainError):
    """Show a service's error on the form fields it names, or as a page message."""
    shown = False
    for field, problems in (error.fields or {}).items():
        for problem in problems:
            if form is not None and field in form.fields:
                form.add_error(field, str(problem))
                shown = True
    if form is not None and not shown:
        form.add_error(None, error.message)
    elif form is None:
        messages.error(request, error.message)
