"""Celery tasks of messaging: thin wrappers over the services (each is also a command)."""

from celery import shared_task
from django.db import transaction

from core.models import Source


@shared_task(name="messaging.send_due_messages")
def send_due_messages_task():
    """Every minute (and after each queueing): send what is due, for at most 50 s."""
    from messaging.services import send_due_messages

    return send_due_messages(budget_seconds=50)


@shared_task(name="messaging.queue_ledger_notices")
def queue_ledger_notices_task():
    """Every minute: the stored-value and tier-upgrade notices the ledgers call for."""
    from messaging.services import queue_ledger_notices

    return [d.pk for d in queue_ledger_notices(source=Source.TASK)]


@shared_task(name="messaging.notify_points_expiring")
def notify_points_expiring_task():
    """Every morning: points expiring in the next N days, once per member and date."""
    from messaging.services import notify_points_expiring

    return [d.pk for d in notify_points_expiring(source=Source.TASK)]


def start_sending():
    """Send what was just queued, once the queueing transaction commits."""
    transaction.on_commit(send_due_messages_task.delay)
