"""Who, where and why on the history of members and rules (django-simple-history)."""

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record


def note(instance, *, actor=None, source="", reason=""):
    """Mark the next save of `instance`: its history record names `actor`, `source`, `reason`."""
    instance._history_user = actor
    instance._history_source = source
    instance._change_reason = (reason or "")[:100]
    return instance


def bulk_note(model, instances, *, actor=None, source="", reason=""):
    """History records for `instances` changed by a bulk UPDATE (which sends no signals)."""
    return model.history.bulk_history_create(
        list(instances),
        update=True,
        default_user=actor,
        default_change_reason=(reason or "")[:100],
        custom_historical_attrs={"history_source": source},
        batch_size=2000,
    )


def bulk_note_changed(model, ids, *, actor=None, source="", reason=""):
    """History records ('~') for the rows `ids` of `model` as they are now, written by one
    INSERT ... SELECT per call: what `bulk_note` does, without loading the rows into Python
    (an import that changed 100,000 profiles: measured in benchmarks/import_update.py).
    The column lists come from the historical model's fields. Like `bulk_note`, it sends no
    signal (pre/post_create_historical_record): a listener added later is not called here."""
    from django.db import connection
    from django.utils import timezone

    if not ids:
        return 0
    history = model.history.model
    given = {
        "history_date": timezone.now(),
        "history_type": "~",
        "history_user_id": getattr(actor, "pk", None),
        "history_change_reason": (reason or "")[:100],
        "history_source": source,
    }
    columns, values, params = [], [], []
    for field in history._meta.concrete_fields:
        if field.generated or field.attname == "history_id":
            continue
        columns.append(f'"{field.column}"')
        if field.attname in given:
            values.append("%s")
            params.append(given[field.attname])
        else:
            values.append(f'm."{model._meta.get_field(field.name).column}"')
    sql = (
        f'INSERT INTO "{history._meta.db_table}" ({", ".join(columns)}) '
        f'SELECT {", ".join(values)} FROM "{model._meta.db_table}" m '
        f'WHERE m."{model._meta.pk.column}" = ANY(%s)'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(ids)])
        return cursor.rowcount


@receiver(pre_create_historical_record)
def _record_source(sender, instance, history_instance, **kwargs):
    source = getattr(instance, "_history_source", None)
    if source is not None and hasattr(history_instance, "history_source"):
        history_instance.history_source = source
