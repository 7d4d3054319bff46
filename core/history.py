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


@receiver(pre_create_historical_record)
def _record_source(sender, instance, history_instance, **kwargs):
    source = getattr(instance, "_history_source", None)
    if source is not None and hasattr(history_instance, "history_source"):
        history_instance.history_source = source
