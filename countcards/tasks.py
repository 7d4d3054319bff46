"""Celery tasks of count cards: thin wrappers over the services."""

from celery import shared_task

from core.models import Source
from countcards.services import expire_count_cards


@shared_task(name="members.expire_count_cards")  # its name from before it moved here
def expire_count_cards_task():
    """Nightly: zero the unused visits of expired count cards. Idempotent (keyed entries)."""
    return expire_count_cards(source=Source.TASK)
