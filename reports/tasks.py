"""Celery tasks: thin wrappers over the services; each is also a management command."""

from datetime import date

from celery import shared_task

from core.models import Source


@shared_task(name="reports.refresh_daily_stats")
def refresh_daily_stats_task(first_day=None, last_day=None):
    """Nightly: yesterday's and today's daily figures, and the snapshots. Rerun-safe."""
    from . import services

    rows = services.refresh_daily_stats(
        first_day=date.fromisoformat(first_day) if first_day else None,
        last_day=date.fromisoformat(last_day) if last_day else None,
        source=Source.TASK,
    )
    services.refresh_snapshots(source=Source.TASK)
    return rows


@shared_task(name="reports.compute_settlement")
def compute_settlement_task():
    """Nightly: the draft settlement of this month and of every earlier month still open."""
    from . import services

    return [p.month.isoformat() for p in services.refresh_open_settlements(source=Source.TASK)]
