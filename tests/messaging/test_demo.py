"""The demo's win-back campaign tells its treatment arm of the offer through the console
backend, and only them: members who agreed, not in quiet hours, within the weekly cap; the
admin's message log shows the messages."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone

from campaigns import demo
from campaigns.models import Campaign, CampaignMember
from coupons import demo as coupons_demo
from loyalty import demo as loyalty_demo
from members.models import Consent
from messaging import rules
from messaging.models import Channel, Message

Arm = CampaignMember.Arm


# 17:30 UTC is 01:30 in Shanghai: the launch 50 days ago fell in quiet hours.
@time_machine.travel(datetime(2026, 11, 30, 17, 30, tzinfo=UTC), tick=True)
def test_the_demo_win_back_offer_reaches_the_treatment_arm_only(chain, client, settings,
                                                                check_ledgers):  # fmt: skip
    from django.contrib.auth.models import User

    ctx = {"stores": chain}
    loyalty_demo.seed_rules(ctx)
    coupons_demo.seed_rules(ctx)
    demo.seed_rules(ctx)
    demo.seed_history(ctx)

    campaign = Campaign.objects.get(code="DEMO-WINBACK")
    arms = dict(CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "arm"))
    messages = Message.objects.filter(dispatch__reference="DEMO-WINBACK")
    push = messages.exclude(channel=Channel.INBOX)
    assert push.count() > 500
    # Only the treatment arm; never the control arm, not even an inbox copy.
    assert {arms[m] for m in messages.values_list("member_id", flat=True)} == {Arm.TREATMENT}
    assert sum(1 for arm in arms.values() if arm == Arm.CONTROL) > 50
    # Only members who agreed on that channel, through the console backend.
    agreed = set(Consent.objects.filter(purpose="marketing", granted=True).values_list(
        "member_id", "channel"))  # fmt: skip
    assert all((m, c) in agreed for m, c in push.values_list("member_id", "channel"))
    assert set(push.values_list("backend", "status").distinct()) == {("console", "sent")}
    assert push.filter(channel=Channel.WECHAT).exists()
    treated = {m for m, arm in arms.items() if arm == Arm.TREATMENT}
    reached = set(push.values_list("member_id", flat=True))
    assert 0 < len(treated - reached) < len(treated) // 4  # no consent, or unsubscribed
    # Launched at 01:30: held, and sent at 08:00 the same morning.
    launch = timezone.localtime(campaign.launched_at)
    assert rules.is_quiet(launch)
    sent = {timezone.localtime(t) for t in push.values_list("sent_at", flat=True)}
    assert sent == {launch.replace(hour=8, minute=0, second=0, microsecond=0)}
    # One each, within the weekly cap.
    assert push.values("member_id").distinct().count() == push.count()
    week = push.values_list("member_id", flat=True)
    for member_id in list(week)[:50]:
        n = Message.objects.filter(
            member_id=member_id, purpose="marketing", sent_at__gte=launch - timedelta(days=7),
            sent_at__lte=launch + timedelta(days=7),
        ).exclude(channel=Channel.INBOX).count()  # fmt: skip
        assert n <= settings.MESSAGING_WEEKLY_CAP
    # The campaign report counts them.
    from campaigns.report import campaign_report

    reach = campaign_report(campaign)["reach"]
    assert reach["sent"] == push.count() and reach["to_control"] == 0
    # The admin's message log shows them.
    admin = User.objects.create_superuser("boss", password="pw-123456")
    client.force_login(admin)
    page = client.get("/admin/messaging/message/?campaign=DEMO-WINBACK&channel=sms")
    assert page.status_code == 200
    shown = push.filter(channel=Channel.SMS).order_by("-id").first()
    assert shown.body.encode() in page.content or shown.body[:40].encode() in page.content
    check_ledgers()
