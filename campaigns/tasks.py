"""Celery tasks of campaigns: thin wrappers over the services (each is also a command)."""

from datetime import date

from celery import shared_task

from core.models import Source


@shared_task(name="campaigns.refresh_member_stats")
def refresh_member_stats_task():
    """Nightly: every member's statistics (set-based, chunked)."""
    from campaigns.statistics import refresh_member_stats

    return refresh_member_stats(source=Source.TASK).members


@shared_task(name="campaigns.run_daily_campaigns")
def run_daily_campaigns_task():
    """Every morning: a day of each running daily campaign (idempotent for the day)."""
    from campaigns.services import run_daily_campaigns

    return [run.pk for run in run_daily_campaigns(source=Source.TASK)]


@shared_task(name="campaigns.deliver_offers")
def deliver_offers_task(campaign_id, day, actor_id=None):
    """After a launch: the offer for the treatment arm (idempotent: a retry issues nothing
    twice)."""
    from django.contrib.auth import get_user_model

    from campaigns.models import Campaign
    from campaigns.services import deliver_offers

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return deliver_offers(
        campaign=Campaign.objects.get(pk=campaign_id),
        day=date.fromisoformat(day),
        source=Source.TASK,
        actor=actor,
    )
