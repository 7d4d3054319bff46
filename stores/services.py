from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import IdempotencyRecord, Store, Terminal, TerminalAPIKey


@transaction.atomic
def create_terminal(*, store_code: str, code: str, name: str = "") -> tuple[Terminal, str]:
    """Create a till (or reuse an existing one of that code) and give it a new API key.

    Returns the terminal and the plain key; only its hash is stored, so this is the one
    moment the key can be shown.
    """
    store = Store.objects.get(code=store_code)
    terminal, _ = Terminal.objects.get_or_create(
        store=store, code=code, defaults={"name": name or code}
    )
    _, key = TerminalAPIKey.objects.create_key(name=f"{store.code}-{code}", terminal=terminal)
    return terminal, key


@transaction.atomic
def revoke_terminal_keys(*, terminal: Terminal) -> int:
    """Revoke every key of a till (a stolen or retired till): its requests get 401 from then on."""
    return TerminalAPIKey.objects.filter(terminal=terminal, revoked=False).update(revoked=True)


def purge_idempotency_records(*, older_than_days=None, now=None, batch_size=5000) -> int:
    """Delete till idempotency keys older than the retention (IDEMPOTENCY_KEY_RETENTION_DAYS).

    Deletes in primary-key batches, each its own short transaction, so a purge of millions of
    rows never holds long locks. Receipt and refund numbers stay unique for ever, so a late
    retry with a purged key still cannot post a sale twice.
    """
    days = settings.IDEMPOTENCY_KEY_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
