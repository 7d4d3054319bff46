"""Queueing to an audience and sending through the console backend: consent per channel, the
inbox copy, one message per occasion, quiet hours and the weekly cap, checked at queueing and
again at sending."""

from datetime import timedelta

from core.models import Source
from members.models import ConsentChannel, ConsentDoor
from members.services.consent import withdraw_consent
from messaging.models import Dispatch, Kind, Message
from messaging.services import queue_for_members, send_due_messages

from .conftest import MORNING, NIGHT, agree, members_qs

Status = Message.Status


def offer(members, occasion="campaign:1", at=MORNING):
    return queue_for_members(
        occasion=occasion, kind=Kind.CAMPAIGN_OFFER, members=members, source=Source.TASK,
        reference="C1", params={"coupon": "满60减15券"}, at=at,
    )  # fmt: skip


def test_it_sends_marketing_only_to_members_who_agreed(make_member):
    agreed, never = agree(make_member()), make_member()

    dispatch = offer(members_qs(agreed, never))
    send_due_messages(now=MORNING)

    assert dispatch.queued == {"sms": 1, "inbox": 2}
    assert dispatch.excluded == {"no_consent": 1}
    sms = Message.objects.get(channel="sms")
    assert sms.member == agreed and sms.status == Status.SENT and sms.backend == "console"
    assert "满60减15券" in sms.body and "回T退订" in sms.body
    assert sms.recipient == agreed.phone and sms.segments == 1
    assert set(Message.objects.filter(channel="inbox").values_list("status", flat=True)) == {
        Status.DELIVERED
    }


def test_it_queues_once_per_occasion_however_often_it_runs(consenting):
    offer(members_qs(consenting))
    again = offer(members_qs(consenting))

    assert Message.objects.filter(member=consenting).count() == 2  # the SMS and the inbox copy
    assert again.excluded["already"] == 1
    assert Dispatch.objects.count() == 1


def test_it_holds_marketing_queued_at_night_until_eight(consenting):
    offer(members_qs(consenting), at=NIGHT)

    assert send_due_messages(now=NIGHT + timedelta(minutes=5)) == {}
    inbox = Message.objects.get(channel="inbox")  # written whole and delivered at once
    assert inbox.status == Status.DELIVERED and "满60减15券" in inbox.body
    sms = Message.objects.get(channel="sms")
    assert sms.status == Status.QUEUED
    assert sms.not_before == NIGHT.replace(hour=8, minute=0) + timedelta(days=1)
    morning = sms.not_before
    send_due_messages(now=morning - timedelta(seconds=1))
    sms.refresh_from_db()
    assert sms.status == Status.QUEUED
    send_due_messages(now=morning)
    sms.refresh_from_db()
    assert sms.status == Status.SENT and sms.sent_at == morning


def test_an_unsubscribe_between_queueing_and_sending_stops_the_message(consenting):
    offer(members_qs(consenting))
    withdraw_consent(member=consenting, channel=ConsentChannel.SMS, door=ConsentDoor.SMS_REPLY,
                     source=Source.TASK)  # fmt: skip

    send_due_messages(now=MORNING)

    sms = Message.objects.get(channel="sms")
    assert sms.status == Status.SUPPRESSED and sms.error_code == "unsubscribed"
    assert sms.sent_at is None


def test_the_weekly_cap_is_checked_at_queueing_and_at_sending(settings, consenting):
    settings.MESSAGING_WEEKLY_CAP = 2
    offer(members_qs(consenting), "campaign:1")
    offer(members_qs(consenting), "campaign:2")
    third = offer(members_qs(consenting), "campaign:3")
    assert third.excluded == {"capped": 1}

    send_due_messages(now=MORNING)
    assert Message.objects.filter(channel="sms", status=Status.SENT).count() == 2
    # A week later the cap has room again.
    fourth = offer(members_qs(consenting), "campaign:4", at=MORNING + timedelta(days=7, hours=1))
    assert fourth.queued.get("sms") == 1


def test_the_cap_is_checked_again_at_sending(settings, consenting):
    settings.MESSAGING_WEEKLY_CAP = 2
    offer(members_qs(consenting), "campaign:1")
    offer(members_qs(consenting), "campaign:2")
    settings.MESSAGING_WEEKLY_CAP = 1  # head office lowered it before the sender ran

    send_due_messages(now=MORNING)

    statuses = list(Message.objects.filter(channel="sms").order_by("pk").values_list(
        "status", "error_code"))  # fmt: skip
    assert statuses == [(Status.SENT, ""), (Status.SUPPRESSED, "capped")]


def test_a_control_member_or_an_empty_audience_queues_nothing(consenting):
    dispatch = offer(members_qs())
    assert dispatch.queued == {} and Message.objects.count() == 0
