"""The campaigns demo: a finished win-back campaign whose report shows a true positive lift (its
interval excludes zero), a running birthday campaign, once, with the ledgers agreeing."""

from datetime import UTC, datetime

import time_machine

from campaigns import demo
from campaigns.models import Campaign, CampaignRun, HoldoutDraw, Segment
from campaigns.report import campaign_report
from coupons import demo as coupons_demo
from loyalty import demo as loyalty_demo
from sales.models import Sale


# 17:30 UTC is 01:30 the next day in Shanghai: a UTC date taken for a local one is a day off.
@time_machine.travel(datetime(2026, 11, 30, 17, 30, tzinfo=UTC), tick=True)
def test_the_demo_tells_the_win_back_story_and_runs_a_birthday_campaign(chain, check_ledgers):
    ctx = {"stores": chain}
    loyalty_demo.seed_rules(ctx)
    coupons_demo.seed_rules(ctx)
    demo.seed_rules(ctx)

    demo.seed_history(ctx)

    winback = Campaign.objects.get(code="DEMO-WINBACK")
    assert winback.status == Campaign.Status.FINISHED
    assert winback.control_percent == 10
    report = campaign_report(winback)
    assert report["issued"] > 0 and report["used"] > 0
    assert report["lift"] > 0 and report["lift_ci"][0] > 0, report
    assert report["p_value"] < 0.05 and not report["srm_warning"]
    assert report["control_offers"] == 0
    birthday = Campaign.objects.get(code="DEMO-BIRTHDAY")
    assert birthday.status == Campaign.Status.RUNNING
    assert birthday.schedule == Campaign.Schedule.DAILY
    assert CampaignRun.objects.filter(campaign=birthday).count() == 7
    assert birthday.audience > 0
    check_ledgers()

    counts = [Campaign.objects.count(), Segment.objects.count(), Sale.objects.count(),
              HoldoutDraw.objects.count()]  # fmt: skip
    demo.seed_rules(ctx)
    demo.seed_history(ctx)
    assert [Campaign.objects.count(), Segment.objects.count(), Sale.objects.count(),
            HoldoutDraw.objects.count()] == counts  # fmt: skip
