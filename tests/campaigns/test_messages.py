"""A campaign tells its treatment arm of the offer through messaging, and only them; the launch
page says, before launching, how many each channel reaches, who is left out and why, and what
the SMS costs; the report counts the reach."""

import time_machine
from django.urls import reverse

from campaigns.models import Campaign, CampaignMember
from campaigns.report import campaign_report
from campaigns.services import deliver_offers
from core.models import Source
from members.models import ConsentDoor
from members.services.consent import record_consent
from messaging.models import Channel, Message
from messaging.services import send_due_messages
from tests.campaigns.conftest import NOW, balanced_salt, make_campaign, make_segment
from tests.campaigns.test_campaigns import crowd, launch  # noqa: F401

Arm = CampaignMember.Arm


def _agree(members, every=1):
    for member in members[::every]:
        record_consent(member=member, channel="sms", granted=True, door=ConsentDoor.TILL,
                       source=Source.TILL)  # fmt: skip


def test_only_the_treatment_arm_gets_the_message(crowd, cash10, everyone):  # noqa: F811
    _agree(crowd)
    campaign = make_campaign(everyone, coupon_template=cash10, control_percent=25,
                             salt=balanced_salt(crowd, 25))  # fmt: skip
    launch(campaign)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)  # a retry
    send_due_messages(now=NOW)

    arms = dict(CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "arm"))
    sms = Message.objects.filter(dispatch__reference=campaign.code, channel=Channel.SMS)
    assert {arms[m] for m in sms.values_list("member_id", flat=True)} == {Arm.TREATMENT}
    treated = [m for m, arm in arms.items() if arm == Arm.TREATMENT]
    assert sms.count() == len(treated)  # each once, however often the offer job ran
    assert cash10.name in sms.first().body
    reach = campaign_report(campaign)["reach"]
    assert reach["to_control"] == 0 and reach["sent"] == len(treated)


def test_a_campaign_without_a_message_sends_none(crowd, cash10, everyone):  # noqa: F811
    _agree(crowd)
    campaign = make_campaign(everyone, coupon_template=cash10, message_kind="")
    launch(campaign)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    assert not Message.objects.exists()


def test_the_launch_page_previews_the_message(client, crowd, cash10, head_office):  # noqa: F811
    _agree(crowd, every=2)
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10)
    client.force_login(head_office)
    url = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])

    with time_machine.travel(NOW, tick=False):
        page = client.get(url)

    reach = page.context["reach"]
    treated = reach["channels"]["inbox"]
    assert 0 < treated < len(crowd)  # the treatment arm only: the salt already decides it
    assert reach["channels"]["sms"] + reach["excluded"]["no_consent"] == treated
    html = page.content.decode()
    assert 'id="message-preview"' in html and f"¥{reach['sms_cost']}" in html
    launch(campaign)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    assert Message.objects.filter(channel="sms").count() == reach["channels"]["sms"]
    assert Campaign.objects.get(pk=campaign.pk).treatment == treated
