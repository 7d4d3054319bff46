"""Celery tasks of sales: thin, idempotent wrappers over the services; each is also a command."""

from datetime import date

from celery import shared_task

from core.models import Source


@shared_task(name="loyalty.grant_holiday_bonuses")  # its name from before sales had an app
def grant_holiday_bonuses_task(on=None):
    """Nightly, after midnight: holiday bonuses for members who shopped on every holiday that has
    ended and was not done yet (or on `on`, an ISO date)."""
    from sales.services import grant_holiday_bonuses

    return grant_holiday_bonuses(on=date.fromisoformat(on) if on else None, source=Source.TASK)
