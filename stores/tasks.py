"""Background jobs of the stores app: thin wrappers over services."""

from celery import shared_task

from .services import purge_idempotency_records


@shared_task(name="stores.purge_idempotency_keys")
def purge_idempotency_keys(older_than_days=None):
    """Nightly: forget till idempotency keys past the retention, and the failed-key counts of
    windows long over. Idempotent by nature."""
    from .api.throttling import forget_old_auth_failures

    forget_old_auth_failures()
    return purge_idempotency_records(older_than_days=older_than_days)
