"""Campaigns: launch freezes the audience with the definition's hash, control members never get the
offer (coupons or points), the chain-wide holdout is left out, daily campaigns enter members once
per cool-down and a rerun issues nothing twice; bad launches are refused whole."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.assignment import bucket
from campaigns.exceptions import CampaignNotLaunchable, CampaignNotRunning, InvalidCampaign
from campaigns.models import Campaign, CampaignMember, CampaignRun
from campaigns.segments import definition_hash
from campaigns.services import (
    deliver_offers,
    draw_holdout,
    finish_campaign,
    launch_campaign,
    run_campaign_day,
    run_daily_campaigns,
)
from campaigns.tasks import deliver_offers_task, run_daily_campaigns_task
from core.models import Source
from coupons.models import Coupon
from loyalty.models import EarningRuleMember, PointsEntry
from tests.campaigns.conftest import NOW, SHANGHAI, buy, make_campaign, make_segment

pytestmark = pytest.mark.usefixtures("rules")


def campaign_coupons(campaign):
    return Coupon.objects.filter(
        template=campaign.coupon_template, issue_key__contains=f":campaign:{campaign.pk}"
    )


def arms(campaign):
    entries = CampaignMember.objects.filter(campaign=campaign)
    return (
        set(entries.filter(arm="treatment").values_list("member_id", flat=True)),
        set(entries.filter(arm="control").values_list("member_id", flat=True)),
    )


@pytest.fixture
def crowd(make_member, tiers):
    return [make_member(tier=tiers["normal"]) for _ in range(120)]


def launch(campaign, at=NOW, **kwargs):
    return launch_campaign(campaign=campaign, source=Source.ADMIN, at=at, **kwargs)


def test_launch_freezes_the_audience_and_the_definition(crowd, cash10, tiers):
    segment = make_segment({"all": [{"field": "tier", "cmp": "in", "value": ["normal"]}]})
    campaign = make_campaign(segment, coupon_template=cash10)

    run = launch(campaign)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LAUNCHING
    assert campaign.frozen_hash == definition_hash(segment.definition) == segment.definition_hash
    assert campaign.audience == 120 == run.entered
    # The segment changes afterwards; the campaign keeps what it drew.
    segment.definition = {"all": [{"field": "tier", "cmp": "in", "value": ["gold"]}]}
    segment.save()
    assert CampaignMember.objects.filter(campaign=campaign).count() == 120
    assert campaign.frozen_definition["all"][0]["value"] == ["normal"]


def test_control_members_never_receive_the_coupons(crowd, cash10, everyone):
    campaign = make_campaign(everyone, coupon_template=cash10, control_percent=25)
    launch(campaign)

    given = deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)  # a retried job

    treated, control = arms(campaign)
    assert control and treated and not treated & control
    owners = list(campaign_coupons(campaign).values_list("owner_id", flat=True))
    assert sorted(owners) == sorted(treated) and given == len(treated)
    assert not Coupon.objects.filter(template=cash10, owner_id__in=control).exists()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.offers_issued == len(treated)


def test_the_launch_delivers_the_coupons_once_committed(
    crowd, cash10, everyone, django_capture_on_commit_callbacks
):
    campaign = make_campaign(everyone, coupon_template=cash10)
    with django_capture_on_commit_callbacks(execute=True):
        launch(campaign)

    treated, _control = arms(campaign)
    assert campaign_coupons(campaign).count() == len(treated)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_control_members_never_earn_the_points_offer(crowd, everyone, check_ledgers):
    campaign = make_campaign(
        everyone,
        offer=Campaign.Offer.MULTIPLIER,
        multiplier=Decimal("2.00"),
        offer_starts_on=date(2026, 6, 1),
        offer_ends_on=date(2026, 6, 14),
        control_percent=30,
    )
    launch(campaign)
    treated, control = arms(campaign)
    in_window = datetime(2026, 6, 5, 12, tzinfo=SHANGHAI)
    after = datetime(2026, 6, 15, 12, tzinfo=SHANGHAI)
    by_id = {m.pk: m for m in crowd}
    one_treated, one_control = by_id[min(treated)], by_id[min(control)]

    doubled = buy(one_treated, "100.00", in_window)
    plain = buy(one_control, "100.00", in_window)
    later = buy(one_treated, "100.00", after)

    assert doubled.points_earned == 200  # 1 point per yuan, doubled
    rule = f"rule:{campaign.earning_rule_id}"
    assert any(item["rule"] == rule for item in doubled.breakdown["earning"])
    assert plain.points_earned == 100 and later.points_earned == 100
    listed = set(
        EarningRuleMember.objects.filter(rule=campaign.earning_rule).values_list(
            "member_id", flat=True
        )
    )
    assert listed == treated and not listed & control
    # Earned through the points ledger like any other points: an EARN entry, balances agree.
    assert PointsEntry.objects.filter(
        account__member=one_treated, kind=PointsEntry.Kind.EARN, points=200
    ).exists()
    check_ledgers()


def test_the_chain_wide_holdout_is_left_out_of_promotional_campaigns(crowd, cash10, everyone):
    draw = draw_holdout(year=2026, percent=Decimal("20"), source=Source.ADMIN)
    held = {m.pk for m in crowd if bucket(draw.salt, m.pk) < 2000}
    promo = make_campaign(everyone, coupon_template=cash10)
    service = make_campaign(everyone, coupon_template=cash10, respect_holdout=False)

    launch(promo)
    launch(service)

    promo_members = set(
        CampaignMember.objects.filter(campaign=promo).values_list("member_id", flat=True)
    )
    assert held and not promo_members & held
    assert promo_members == {m.pk for m in crowd} - held
    promo.refresh_from_db()
    assert promo.held_out == len(held)
    assert CampaignMember.objects.filter(campaign=service).count() == 120


def test_a_campaign_is_launched_once(crowd, cash10, everyone):
    campaign = make_campaign(everyone, coupon_template=cash10)
    launch(campaign)

    with pytest.raises(CampaignNotLaunchable):
        launch(Campaign.objects.get(pk=campaign.pk))

    assert CampaignMember.objects.filter(campaign=campaign).count() == 120
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


@pytest.mark.parametrize(
    "fields, bad",
    [
        ({"coupon_template": None}, "coupon_template"),
        ({"offer": "multiplier", "multiplier": Decimal("2")}, "offer_ends_on"),
        ({"offer": "multiplier", "multiplier": Decimal("1.00"), "offer_starts_on": date(2026, 6, 1),
          "offer_ends_on": date(2026, 6, 2)}, "multiplier"),
        ({"offer": "multiplier", "multiplier": Decimal("2"), "offer_starts_on": date(2026, 6, 9),
          "offer_ends_on": date(2026, 6, 2)}, "offer_ends_on"),
        ({"offer": "multiplier", "multiplier": Decimal("2"), "offer_starts_on": date(2026, 5, 1),
          "offer_ends_on": date(2026, 5, 2)}, "offer_ends_on"),
        ({"offer": "multiplier", "multiplier": Decimal("2"), "schedule": "daily"}, "offer_days"),
        ({"schedule": "daily", "cooldown_days": 0}, "cooldown_days"),
        ({"schedule": "daily", "ends_on": date(2026, 5, 1)}, "ends_on"),
        ({"measure_days": 0}, "measure_days"),
        ({"control_percent": Decimal("0.5")}, "control_percent"),
    ],
)  # fmt: skip
def test_a_campaign_that_cannot_work_is_refused_whole(crowd, cash10, everyone, fields, bad):
    values = {"coupon_template": cash10, **fields}
    campaign = Campaign(code="BAD", name="坏活动", segment=everyone, **values)
    if bad != "control_percent":
        campaign.save()
    else:
        campaign.save = lambda *a, **k: None  # the database refuses it too (a check constraint)
        with pytest.raises(InvalidCampaign) as refused:
            from campaigns.services import check_campaign

            check_campaign(campaign, today=NOW.date())
        assert bad in refused.value.fields
        return

    with pytest.raises(InvalidCampaign) as refused:
        launch(campaign)

    assert bad in refused.value.fields
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not CampaignMember.objects.filter(campaign=campaign).exists()


def test_an_inactive_template_is_refused_at_launch(crowd, cash10, everyone):
    cash10.is_active = False
    cash10.save()
    campaign = make_campaign(everyone, coupon_template=cash10)
    with pytest.raises(InvalidCampaign) as refused:
        launch(campaign)
    assert "coupon_template" in refused.value.fields


def test_the_templates_total_limits_the_offer_and_says_so(crowd, everyone):
    from tests.coupons.conftest import make_template

    scarce = make_template("SCARCE", face_value=Decimal("5"), total_quantity=40)
    campaign = make_campaign(everyone, coupon_template=scarce)
    launch(campaign)

    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)

    campaign.refresh_from_db()
    treated, _control = arms(campaign)
    assert campaign.offers_issued == 40
    assert campaign.offers_refused == len(treated) - 40
    # A retry neither issues more nor counts the refusals twice.
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    campaign.refresh_from_db()
    assert (campaign.offers_issued, campaign.offers_refused) == (40, len(treated) - 40)


# --- daily campaigns --------------------------------------------------------------------------


@pytest.fixture
def birthdays(make_member, tiers):
    """30 members born on 1 June, 30 on 2 June."""
    first = [make_member(tier=tiers["normal"], birthday=date(1990, 6, 1)) for _ in range(30)]
    second = [make_member(tier=tiers["normal"], birthday=date(1991, 6, 2)) for _ in range(30)]
    return first, second


def birthday_campaign(cash10, **fields):
    segment = make_segment({"all": [{"field": "birthday_within", "cmp": "<=", "value": 0}]})
    return make_campaign(
        segment,
        coupon_template=cash10,
        schedule=Campaign.Schedule.DAILY,
        cooldown_days=300,
        control_percent=20,
        **fields,
    )


def test_a_rerun_of_a_daily_campaign_issues_nothing_twice(birthdays, cash10):
    first, _second = birthdays
    campaign = birthday_campaign(cash10)
    launch(campaign)  # enters today's birthdays (1 June)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    coupons = campaign_coupons(campaign).count()
    entries = CampaignMember.objects.filter(campaign=campaign).count()

    again = run_campaign_day(campaign=campaign, source=Source.TASK, at=NOW + timedelta(hours=3))
    run_daily_campaigns(source=Source.TASK, at=NOW + timedelta(hours=5))

    assert entries == 30 and coupons == len(arms(campaign)[0])
    assert campaign_coupons(campaign).count() == coupons
    assert CampaignMember.objects.filter(campaign=campaign).count() == entries
    assert again.offers_issued == coupons
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_the_next_day_enters_the_next_birthdays_with_their_own_occasion(birthdays, cash10):
    first, second = birthdays
    campaign = birthday_campaign(cash10)
    launch(campaign)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)

    run_campaign_day(campaign=campaign, source=Source.TASK, at=NOW + timedelta(days=1))

    entered = CampaignMember.objects.filter(campaign=campaign)
    assert set(entered.values_list("member_id", flat=True)) == {m.pk for m in first + second}
    keys = campaign_coupons(campaign).values_list("issue_key", flat=True)
    assert {k.rsplit(":", 1)[1] for k in keys} == {"2026-06-01", "2026-06-02"}
    treated, control = arms(campaign)
    assert not Coupon.objects.filter(template=cash10, owner_id__in=control).exists()
    assert campaign_coupons(campaign).count() == len(treated)


def test_the_cool_down_keeps_a_member_out_until_it_passes(make_member, tiers, cash10):
    lapsed = [make_member(tier=tiers["normal"]) for _ in range(20)]
    for member in lapsed:
        buy(member, "30.00", NOW - timedelta(days=90))
    segment = make_segment({"all": [{"field": "no_purchase_days", "cmp": ">=", "value": 60}]})
    campaign = make_campaign(
        segment, coupon_template=cash10, schedule="daily", cooldown_days=30, control_percent=20
    )
    launch(campaign)

    for day in range(1, 30):
        run_campaign_day(campaign=campaign, source=Source.TASK, at=NOW + timedelta(days=day))
    assert CampaignMember.objects.filter(campaign=campaign).count() == 20

    run_campaign_day(campaign=campaign, source=Source.TASK, at=NOW + timedelta(days=30))
    entries = CampaignMember.objects.filter(campaign=campaign)
    assert entries.count() == 40
    # The same member lands in the same arm in every cycle.
    for member in lapsed:
        assert len(set(entries.filter(member=member).values_list("arm", flat=True))) == 1


def test_finished_and_one_off_campaigns_take_no_daily_runs(birthdays, cash10, everyone):
    daily = birthday_campaign(cash10)
    once = make_campaign(everyone, coupon_template=cash10)
    launch(daily)
    launch(once)
    finish_campaign(campaign=daily, source=Source.ADMIN)

    with pytest.raises(CampaignNotRunning):
        run_campaign_day(campaign=daily, source=Source.TASK, at=NOW + timedelta(days=1))
    with pytest.raises(CampaignNotRunning):
        run_campaign_day(campaign=once, source=Source.TASK, at=NOW + timedelta(days=1))
    assert run_daily_campaigns(source=Source.TASK, at=NOW + timedelta(days=1)) == []


def test_the_tasks_run_the_services(birthdays, cash10):
    campaign = birthday_campaign(cash10)
    launch(campaign)

    given = deliver_offers_task.apply(args=[campaign.pk, NOW.date().isoformat()]).get()
    treated = len(arms(campaign)[0])  # before today's run, which may enter today's birthdays
    runs = run_daily_campaigns_task.apply().get()

    assert given == treated > 0
    assert isinstance(runs, list)


def test_the_holdout_is_drawn_once_a_year_within_bounds(db):
    draw_holdout(year=2026, percent=5, source=Source.ADMIN)
    with pytest.raises(InvalidCampaign):
        draw_holdout(year=2026, percent=5, source=Source.ADMIN)
    with pytest.raises(InvalidCampaign):
        draw_holdout(year=2027, percent=30, source=Source.ADMIN)
    with pytest.raises(InvalidCampaign):
        draw_holdout(year=2027, percent="lots", source=Source.ADMIN)
