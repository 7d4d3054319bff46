"""WeChat subscribe messages through the HTTP API against a local server that answers as
WeChat does: the access token fetched once and shared, refreshed when WeChat says it expired;
a refusal (the member did not subscribe) recorded with WeChat's errcode; a busy answer retried;
a lost answer never retried (WeChat has no out-id to look up: at most once)."""

from datetime import timedelta

import pytest

from core.models import Source
from messaging.backends import reset_backends
from messaging.models import Message
from messaging.services import bind_wechat, send_due_messages

from .conftest import MORNING, agree
from .providers import Wechat
from .test_providers import offer

Status = Message.Status


@pytest.fixture
def wechat(settings):
    from django.core.cache import cache

    server = Wechat(app_id="wx-app", secret="wx-secret", templates={"TPL-OFFER"})
    settings.MESSAGING_WECHAT_BACKEND = "wechat"
    settings.MESSAGING_WECHAT = {**settings.MESSAGING_WECHAT, "app_id": "wx-app",
                                 "app_secret": "wx-secret", "api_base": server.base,
                                 "templates": {"campaign_offer": "TPL-OFFER"}, "timeout": 3}  # fmt: skip  # noqa: E501
    cache.clear()
    reset_backends()
    yield server
    server.stop()


@pytest.fixture
def follower(make_member):
    member = agree(make_member(), "wechat")
    bind_wechat(member=member, openid="o-follower", source=Source.TASK)
    return member


def wx(member):
    return Message.objects.get(member=member, channel="wechat")


def test_it_sends_with_one_token_and_refreshes_it_when_expired(wechat, make_member):
    members = []
    for n in range(3):
        member = agree(make_member(), "wechat")
        bind_wechat(member=member, openid=f"o-{n}", source=Source.TASK)
        members.append(member)
    offer(*members[:2])
    send_due_messages(now=MORNING)
    assert wechat.token_calls == 1 and len(wechat.accepted) == 2
    assert wechat.accepted[0]["data"]["thing1"] == {"value": "满60减15券"}

    wechat.expire_next = True
    offer(members[2], occasion="campaign:2")
    send_due_messages(now=MORNING)
    assert wechat.token_calls == 2 and wx(members[2]).status == Status.SENT
    assert wx(members[2]).provider_id == str(wechat.accepted[-1]["msgid"])


def test_a_member_who_refused_is_recorded_with_wechats_code(wechat, follower):
    wechat.script["o-follower"] = ["refused"]
    offer(follower)
    send_due_messages(now=MORNING)
    assert (wx(follower).status, wx(follower).error_code) == (Status.FAILED, "43101")


def test_a_busy_wechat_is_retried(wechat, follower):
    wechat.script["o-follower"] = ["busy"]
    offer(follower)
    send_due_messages(now=MORNING)
    assert wx(follower).status == Status.QUEUED
    send_due_messages(now=MORNING + timedelta(minutes=5))
    assert wx(follower).status == Status.SENT and len(wechat.accepted) == 1


def test_a_lost_wechat_answer_is_not_sent_again(wechat, follower):
    wechat.script["o-follower"] = ["close"]
    offer(follower)
    send_due_messages(now=MORNING)
    send_due_messages(now=MORNING + timedelta(hours=1))

    assert len(wechat.accepted) == 1
    assert (wx(follower).status, wx(follower).error_code) == (Status.FAILED, "outcome_unknown")
    assert Message.objects.get(member=follower, channel="inbox").status == Status.DELIVERED


def test_wechat_comes_first_then_sms_for_members_without_an_openid(wechat, make_member):
    from messaging.backends import reset_backends as reset

    both = agree(make_member(), "sms", "wechat")
    bind_wechat(member=both, openid="o-both", source=Source.TASK)
    sms_only = agree(make_member(), "sms")
    reset()
    dispatch = offer(both, sms_only)
    assert dispatch.queued == {"wechat": 1, "sms": 1, "inbox": 2}
    assert not Message.objects.filter(member=both, channel="sms").exists()
