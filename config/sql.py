"""Helpers for the few set-based SQL statements (bulk imports) that bypass the ORM."""

from django.db import connection
from django.utils import timezone


def default_columns(model, given):
    """(column, value) for the concrete fields of `model` not in `given`, at their Python
    defaults, so a hand-written INSERT stays valid when a field with a default is added."""
    pairs = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.generated or field.column in given:
            continue
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        pairs.append((field.column, field.get_db_prep_save(value, connection)))
    return pairs
