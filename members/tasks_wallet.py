"""Celery tasks of stored value and count cards: thin wrappers over the services."""

from celery import shared_task

from members.services import expire_count_cards
from stores.models import Source


@shared_task(name="members.expire_count_cards")
def expire_count_cards_task():
    """Nightly: zero the unused visits of expired count cards. Idempotent (keyed entries)."""
    return expire_count_cards(source=Source.TASK)
