"""A retried send never sends twice. Our message id travels as the provider's out-id (Aliyun
OutId, Tencent SessionContext); when an answer is lost (the provider took the message, then the
connection closed), the retry first asks the provider whether it has a message with that
out-id, and sends again only if it has not. The provider's own count is the proof."""

from datetime import timedelta

import pytest

from messaging.models import Message
from messaging.services import send_due_messages

from .conftest import MORNING
from .test_providers import offer, sms

Status = Message.Status


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request):
    return request.getfixturevalue(request.param)


def test_a_send_whose_answer_was_lost_is_not_sent_again(settings, provider, consenting):
    provider.script[consenting.phone] = ["close"]
    offer(consenting)

    send_due_messages(now=MORNING)
    message = sms(consenting)
    assert message.status == Status.QUEUED and message.outcome_unknown
    assert len(provider.accepted) == 1  # the provider has it; we do not know that yet
    delay = timedelta(seconds=settings.MESSAGING_LOOKUP_DELAY_SECONDS)
    assert message.not_before >= MORNING + delay

    send_due_messages(now=message.not_before)

    message.refresh_from_db()
    assert len(provider.accepted) == 1  # the retry found it by our id and sent nothing
    assert message.status in (Status.SENT, Status.DELIVERED) and not message.outcome_unknown
    assert message.attempts == 2


def test_a_send_that_never_reached_the_provider_is_sent_on_retry(provider, consenting):
    provider.script[consenting.phone] = ["drop"]
    offer(consenting)

    send_due_messages(now=MORNING)
    assert provider.accepted == [] and sms(consenting).outcome_unknown
    send_due_messages(now=sms(consenting).not_before)

    assert len(provider.accepted) == 1
    assert sms(consenting).status == Status.SENT


def test_a_worker_that_died_mid_send_leaves_a_message_that_is_looked_up(aliyun, consenting):
    offer(consenting)
    # A worker claims the message, the provider takes it, and the worker dies before it can
    # record the answer: what is left is a claim whose lease runs out.
    from messaging.services import _claim

    [claimed] = _claim(MORNING, 10, only_ids=[sms(consenting).pk])
    message = Message.objects.get(pk=claimed)
    aliyun.accepted.append({"phone": consenting.phone, "out_id": str(message.pk),
                            "biz_id": "1^0", "template": "SMS_OFFER", "params": {},
                            "sign": "演示超市", "at": MORNING})  # fmt: skip

    send_due_messages(now=MORNING + timedelta(minutes=1))  # the lease still runs: untouched
    assert sms(consenting).status == Status.SENDING
    send_due_messages(now=MORNING + timedelta(minutes=6))  # lease over: looked up, not resent

    assert len(aliyun.accepted) == 1
    assert sms(consenting).status in (Status.SENT, Status.DELIVERED)


def test_a_receipt_for_a_lost_answer_settles_the_message(client, settings, aliyun, consenting):
    import json

    settings.MESSAGING_WEBHOOK_TOKEN = "t0ken"
    aliyun.script[consenting.phone] = ["close"]
    offer(consenting)
    send_due_messages(now=MORNING)
    [taken] = aliyun.accepted

    client.post("/messaging/hooks/aliyun/t0ken/report", json.dumps([aliyun.receipt(taken)]),
                content_type="application/json")  # fmt: skip
    assert send_due_messages(now=MORNING + timedelta(hours=1)) == {}

    message = sms(consenting)
    assert message.status == Status.DELIVERED and message.provider_id == taken["biz_id"]
    assert len(aliyun.accepted) == 1
