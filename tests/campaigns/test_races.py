"""Races, with real threads on PostgreSQL: two head-office users launching one campaign at once
draw its audience once; offers delivered by several workers at once (a retried job) give each
treatment member one coupon; two daily runs at once enter each member once."""

from datetime import timedelta

import pytest

from campaigns.exceptions import CampaignNotLaunchable
from campaigns.models import Campaign, CampaignMember, CampaignRun
from campaigns.services import deliver_offers, launch_campaign, run_campaign_day
from core.models import Source
from coupons.models import Coupon
from tests.campaigns.conftest import NOW, buy, make_campaign, make_segment
from tests.threads import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rules")]


@pytest.fixture
def crowd(make_member, tiers):
    return [make_member(tier=tiers["normal"]) for _ in range(40)]


def test_two_launches_at_once_draw_the_audience_once(crowd, cash10):
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)

    results = run_in_threads(
        lambda: launch_campaign(
            campaign=Campaign.objects.get(pk=campaign.pk), source=Source.ADMIN, at=NOW
        ),
        4,
    )

    launched = [r for r in results if isinstance(r, CampaignRun)]
    refused = [r for r in results if isinstance(r, CampaignNotLaunchable)]
    assert len(launched) == 1 and len(refused) == 3, results
    assert CampaignMember.objects.filter(campaign=campaign).count() == 40


def test_offers_delivered_by_several_workers_at_once_are_given_once(crowd, cash10, monkeypatch):
    from campaigns import tasks

    # The launch's own delivery (after commit) is held back: the workers below race for it.
    monkeypatch.setattr(tasks.deliver_offers_task, "delay", lambda *args, **kwargs: None)
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)

    results = run_in_threads(
        lambda: deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW), 4
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    treated = set(
        CampaignMember.objects.filter(campaign=campaign, arm="treatment").values_list(
            "member_id", flat=True
        )
    )
    owners = list(Coupon.objects.filter(template=cash10).values_list("owner_id", flat=True))
    assert sorted(owners) == sorted(treated)
    assert sum(results) == len(treated)
    campaign.refresh_from_db()
    assert campaign.offers_issued == len(treated)


def test_two_daily_runs_at_once_enter_each_member_once(make_member, tiers, cash10):
    lapsed = [make_member(tier=tiers["normal"]) for _ in range(30)]
    for member in lapsed:
        buy(member, "30.00", NOW - timedelta(days=90))
    segment = make_segment({"all": [{"field": "no_purchase_days", "cmp": ">=", "value": 60}]})
    campaign = make_campaign(segment, coupon_template=cash10, schedule="daily", cooldown_days=30)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW - timedelta(days=40))
    CampaignMember.objects.filter(campaign=campaign).delete()  # as if nobody matched that day

    results = run_in_threads(
        lambda: run_campaign_day(campaign=campaign, source=Source.TASK, at=NOW), 3
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert CampaignMember.objects.filter(campaign=campaign).count() == 30
    treated = CampaignMember.objects.filter(campaign=campaign, arm="treatment").count()
    assert Coupon.objects.filter(template=cash10).count() == treated
