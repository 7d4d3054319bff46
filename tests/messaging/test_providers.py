"""Each provider's real SDK against a local server that answers as the provider does: success
with its id, throttling (retried with backoff), permanent refusals (recorded with the
provider's code), a misconfiguration the provider would refuse, delivery receipts and replies
posted back to our webhooks."""

import json
from datetime import timedelta

import pytest

from core.models import Source
from members.models import Consent, ConsentChannel
from messaging.models import InboundSms, Kind, Message
from messaging.services import queue_for_members, send_due_messages

from .conftest import MORNING, agree, members_qs

Status = Message.Status
TOKEN = "hook-secret-123"


def offer(*members, occasion="campaign:1", at=MORNING):
    return queue_for_members(
        occasion=occasion, kind=Kind.CAMPAIGN_OFFER, members=members_qs(*members),
        source=Source.TASK, params={"coupon": "满60减15券"}, at=at,
    )  # fmt: skip


def sms(member):
    return Message.objects.get(member=member, channel="sms")


@pytest.fixture
def hooks(settings):
    settings.MESSAGING_WEBHOOK_TOKEN = TOKEN


# --- Aliyun -----------------------------------------------------------------------------------


def test_aliyun_takes_the_message_with_our_id_as_out_id(aliyun, consenting):
    offer(consenting)
    send_due_messages(now=MORNING)

    message = sms(consenting)
    [taken] = aliyun.accepted
    assert message.status == Status.SENT and message.backend == "aliyun"
    assert message.provider_id == taken["biz_id"]
    assert taken["out_id"] == str(message.pk)
    assert taken["phone"] == consenting.phone and taken["sign"] == "演示超市"
    assert taken["params"] == {"name": consenting.name, "coupon": "满60减15券"}
    assert message.body.startswith("【演示超市】")


def test_aliyun_throttling_is_retried_with_backoff_then_sent(aliyun, consenting):
    aliyun.script[consenting.phone] = ["limit_minute", "limit_hour"]
    offer(consenting)

    send_due_messages(now=MORNING)
    message = sms(consenting)
    assert message.status == Status.QUEUED and message.error_code == "isv.BUSINESS_LIMIT_CONTROL"
    assert message.not_before == MORNING + timedelta(seconds=60)
    send_due_messages(now=MORNING + timedelta(seconds=60))
    message.refresh_from_db()
    assert message.not_before == MORNING + timedelta(seconds=60 + 3600)  # the hourly window
    send_due_messages(now=message.not_before)
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 3
    assert len(aliyun.accepted) == 1


def test_aliyun_daily_limit_waits_for_the_next_morning(aliyun, consenting):
    aliyun.script[consenting.phone] = ["limit_day"]
    offer(consenting)
    send_due_messages(now=MORNING)
    assert sms(consenting).not_before == MORNING.replace(hour=8) + timedelta(days=1)


def test_aliyun_refusals_are_recorded_with_its_code_and_not_retried(aliyun, make_member):
    bad_number = agree(make_member())
    # What an old import left: a number of ten digits.
    type(bad_number).objects.filter(pk=bad_number.pk).update(phone="1990000000")
    offer(bad_number)
    send_due_messages(now=MORNING)
    message = sms(bad_number)
    assert (message.status, message.error_code) == (Status.FAILED, "isv.MOBILE_NUMBER_ILLEGAL")
    assert aliyun.accepted == []
    assert send_due_messages(now=MORNING + timedelta(days=1)) == {}


def test_an_unapproved_aliyun_template_fails_with_its_code(settings, aliyun, consenting):
    settings.MESSAGING_ALIYUN = {**settings.MESSAGING_ALIYUN,
                                 "templates": {"campaign_offer": "SMS_NOT_APPROVED"}}  # fmt: skip
    from messaging.backends import reset_backends

    reset_backends()
    offer(consenting)
    send_due_messages(now=MORNING)
    assert sms(consenting).error_code == "isv.SMS_TEMPLATE_ILLEGAL"


def test_a_wrong_aliyun_secret_is_refused_by_the_signature_check(settings, aliyun, consenting):
    settings.MESSAGING_ALIYUN = {**settings.MESSAGING_ALIYUN, "access_key_secret": "wrong"}
    from messaging.backends import reset_backends

    reset_backends()
    offer(consenting)
    send_due_messages(now=MORNING)
    message = sms(consenting)
    assert (message.status, message.error_code) == (Status.FAILED, "SignatureDoesNotMatch")
    assert aliyun.accepted == []


def test_aliyun_receipts_posted_back_update_each_message(client, hooks, aliyun, make_member):
    first, second = agree(make_member()), agree(make_member())
    offer(first, second)
    send_due_messages(now=MORNING)
    good, bad = aliyun.accepted
    body = [aliyun.receipt(good), aliyun.receipt(bad, success=False, code="MK:0001")]

    answer = client.post(f"/messaging/hooks/aliyun/{TOKEN}/report", json.dumps(body),
                         content_type="application/json")  # fmt: skip
    again = client.post(f"/messaging/hooks/aliyun/{TOKEN}/report", json.dumps(body),
                        content_type="application/json")  # fmt: skip

    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
    assert again.status_code == 200
    by_id = {m.pk: m for m in Message.objects.filter(channel="sms")}
    assert by_id[int(good["out_id"])].status == Status.DELIVERED
    failed = by_id[int(bad["out_id"])]
    assert (failed.status, failed.error_code) == (Status.FAILED, "MK:0001")


def test_a_reply_of_td_unsubscribes_the_member(client, hooks, aliyun, consenting, make_member):
    other = agree(make_member())
    body = [aliyun.reply(consenting.phone, "TD", 1), aliyun.reply(other.phone, "谢谢", 2)]

    answer = client.post(f"/messaging/hooks/aliyun/{TOKEN}/reply", json.dumps(body),
                         content_type="application/json")  # fmt: skip

    assert answer.status_code == 200
    assert not Consent.objects.get(member=consenting, channel=ConsentChannel.SMS).granted
    assert Consent.objects.get(member=other, channel=ConsentChannel.SMS).granted
    assert InboundSms.objects.filter(unsubscribed=True).count() == 1
    # Unsubscribed is final: the next offer goes nowhere.
    assert offer(consenting, occasion="campaign:2").excluded == {"unsubscribed": 1}


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_the_webhooks_refuse_a_post_without_the_secret(client, hooks, consenting, token):
    body = json.dumps([{"phone_number": consenting.phone, "content": "T", "sequence_id": 1}])
    for path in ("aliyun/{}/reply", "tencent/{}/reply", "aliyun/{}/report", "tencent/{}/report"):
        answer = client.post(f"/messaging/hooks/{path.format(token or 'x')}", body,
                             content_type="application/json")  # fmt: skip
        assert answer.status_code == 403
    assert Consent.objects.get(member=consenting).granted


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"a": [', "\xff", '"text"'])
def test_a_malformed_callback_gets_400(client, hooks, body):
    for path in ("aliyun", "tencent"):
        for what in ("report", "reply"):
            answer = client.post(f"/messaging/hooks/{path}/{TOKEN}/{what}", body,
                                 content_type="application/json")  # fmt: skip
            assert answer.status_code == 400, (path, what, body)


# --- Tencent ----------------------------------------------------------------------------------


def test_tencent_takes_the_message_with_our_id_as_session_context(tencent, consenting):
    offer(consenting)
    send_due_messages(now=MORNING)

    message = sms(consenting)
    [taken] = tencent.accepted
    assert message.status == Status.SENT and message.provider_id == taken["serial"]
    assert taken["session"] == str(message.pk)
    assert taken["params"] == [consenting.name, "满60减15券"]  # the wording's order


def test_tencent_daily_limit_is_retried_the_next_morning(tencent, consenting):
    tencent.script[consenting.phone] = ["limit_day"]
    offer(consenting)
    send_due_messages(now=MORNING)
    message = sms(consenting)
    assert message.error_code == "LimitExceeded.PhoneNumberDailyLimit"
    assert message.status == Status.QUEUED
    assert message.not_before == MORNING.replace(hour=8) + timedelta(days=1)
    send_due_messages(now=message.not_before)
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_tencent_throttling_of_thirty_seconds_is_retried(settings, tencent, consenting):
    settings.MESSAGING_RETRY_BASE_SECONDS = 10
    tencent.script[consenting.phone] = ["limit_30s"]
    offer(consenting)
    send_due_messages(now=MORNING)
    assert sms(consenting).not_before == MORNING + timedelta(seconds=30)


def test_tencent_gives_up_after_the_last_attempt(settings, tencent, consenting):
    settings.MESSAGING_MAX_ATTEMPTS = 2
    tencent.script[consenting.phone] = ["limit_hour", "limit_hour"]
    offer(consenting)
    send_due_messages(now=MORNING)
    send_due_messages(now=MORNING + timedelta(hours=2))
    message = sms(consenting)
    assert (message.status, message.error_code) == (
        Status.FAILED, "LimitExceeded.PhoneNumberOneHourLimit")
    assert tencent.accepted == []


def test_an_unapproved_tencent_template_fails_with_its_code(settings, tencent, consenting):
    settings.MESSAGING_TENCENT = {**settings.MESSAGING_TENCENT,
                                  "templates": {"campaign_offer": "9999"}}  # fmt: skip
    from messaging.backends import reset_backends

    reset_backends()
    offer(consenting)
    send_due_messages(now=MORNING)
    message = sms(consenting)
    assert (message.status, message.error_code) == (
        Status.FAILED, "FailedOperation.TemplateIncorrectOrUnapproved")


def test_a_wrong_tencent_key_is_refused_by_the_signature_check(settings, tencent, consenting):
    settings.MESSAGING_TENCENT = {**settings.MESSAGING_TENCENT, "secret_key": "wrong"}
    from messaging.backends import reset_backends

    reset_backends()
    offer(consenting)
    send_due_messages(now=MORNING)
    assert sms(consenting).error_code == "AuthFailure.SignatureFailure"
    assert tencent.accepted == []


def test_tencent_receipts_and_replies_posted_back(client, hooks, tencent, consenting):
    offer(consenting)
    send_due_messages(now=MORNING)
    [taken] = tencent.accepted

    report = client.post(f"/messaging/hooks/tencent/{TOKEN}/report",
                         json.dumps([tencent.receipt(taken)]), content_type="application/json")
    reply = client.post(f"/messaging/hooks/tencent/{TOKEN}/reply",
                        json.dumps(tencent.reply(consenting.phone, "退订")),
                        content_type="application/json")  # fmt: skip

    assert report.json() == {"result": 0, "errmsg": "OK"} and reply.status_code == 200
    assert sms(consenting).status == Status.DELIVERED
    assert not Consent.objects.get(member=consenting).granted
