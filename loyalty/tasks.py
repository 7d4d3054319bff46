"""Celery tasks: thin, idempotent wrappers over the services; each is also a command."""

from datetime import date

from celery import shared_task

from core.models import Source


def _day(value):
    return date.fromisoformat(value) if value else None


@shared_task(name="loyalty.expire_points")
def expire_points_task(as_of=None):
    """Nightly: expire lots past due as of `as_of` (ISO date, default today). Rerun-safe."""
    from loyalty.ledger import expire_points

    return expire_points(as_of=_day(as_of) or _today(), source=Source.TASK)


@shared_task(name="loyalty.grant_birthday_bonuses")
def grant_birthday_bonuses_task(on=None):
    """Daily: birthday bonuses, once per member per year."""
    from loyalty.services import grant_birthday_bonuses

    return grant_birthday_bonuses(on=_day(on), source=Source.TASK)


@shared_task(name="loyalty.review_tiers")
def review_tiers_task(as_of=None):
    """Monthly: downgrade members who no longer meet their tier's retention rule."""
    from loyalty.services import review_tiers

    return review_tiers(as_of=_day(as_of), source=Source.TASK)


def _today():
    from django.utils import timezone

    return timezone.localdate()
