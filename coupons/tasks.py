"""Celery tasks of coupons: thin, idempotent wrappers over the services."""

from datetime import date

from celery import shared_task

from core.models import Source


@shared_task(name="coupons.expire_coupons")
def expire_coupons_task():
    """Nightly: coupons past their last second become expired."""
    from coupons.services import expire_coupons

    return expire_coupons(source=Source.TASK)


@shared_task(name="coupons.issue_automatic_coupons")
def issue_automatic_coupons_task(on=None):
    """Daily: birthday, first-purchase and missed registration coupons (idempotent)."""
    from coupons.services import issue_automatic_coupons

    return issue_automatic_coupons(on=date.fromisoformat(on) if on else None, source=Source.TASK)
