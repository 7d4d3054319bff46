"""Fixtures for messaging: members with consent, a fixed morning, the providers' local servers."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.models import Source
from members.models import ConsentChannel, ConsentDoor, Member
from members.services.consent import record_consent
from messaging.backends import reset_backends
from tests.loyalty.conftest import make_member, tiers  # noqa: F401, F811

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)  # a Monday, 10:00 in Shanghai
NIGHT = datetime(2026, 6, 1, 22, 30, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_backends(settings):
    settings.MESSAGING_SMS_BACKEND = "console"
    settings.MESSAGING_WECHAT_BACKEND = "console"
    settings.MESSAGING_RATE_LIMITS = {**settings.MESSAGING_RATE_LIMITS, "console": 1e6}
    reset_backends()
    yield
    reset_backends()


def agree(member, *channels, door=ConsentDoor.TILL):
    for channel in channels or (ConsentChannel.SMS,):
        record_consent(member=member, channel=channel, granted=True, door=door,
                       source=Source.TILL)  # fmt: skip
    return member


@pytest.fixture
def consenting(make_member):  # noqa: F811
    """A member who agreed to marketing SMS at the till."""
    return agree(make_member())


def members_qs(*members):
    return Member.objects.filter(pk__in=[m.pk for m in members])


ALIYUN_TEMPLATES = {"SMS_OFFER": ["name", "coupon"], "SMS_POINTS": ["name", "points", "date"]}
TENCENT_TEMPLATES = {"2001": 2, "2002": 3}


@pytest.fixture
def aliyun(settings):
    """Aliyun's SMS API on a local port; the SDK pointed at it through its own endpoint."""
    from tests.messaging.providers import AliyunSms

    # The provider's clock and ours agree (its records are dated by its clock).
    travel = time_machine.travel(MORNING, tick=True)
    travel.start()
    server = AliyunSms(access_key_id="LTAI-test", access_key_secret="secret-a",
                       sign_name="演示超市", templates=ALIYUN_TEMPLATES)  # fmt: skip
    settings.MESSAGING_SMS_BACKEND = "aliyun"
    settings.MESSAGING_ALIYUN = {
        **settings.MESSAGING_ALIYUN, "access_key_id": "LTAI-test",
        "access_key_secret": "secret-a", "sign_name": "演示超市", "endpoint": server.endpoint,
        "protocol": "http", "timeout": 3.0,
        "templates": {"campaign_offer": "SMS_OFFER", "points_expiring": "SMS_POINTS"},
    }  # fmt: skip
    reset_backends()
    yield server
    server.stop()
    travel.stop()


@pytest.fixture
def tencent(settings):
    """Tencent Cloud's SMS API on a local port; the SDK pointed at it through HttpProfile."""
    from tests.messaging.providers import TencentSms

    travel = time_machine.travel(MORNING, tick=True)
    travel.start()
    server = TencentSms(secret_id="AKID-test", secret_key="secret-t", sdk_app_id="1400006666",
                        sign_name="演示超市", templates=TENCENT_TEMPLATES)  # fmt: skip
    settings.MESSAGING_SMS_BACKEND = "tencent"
    settings.MESSAGING_TENCENT = {
        **settings.MESSAGING_TENCENT, "secret_id": "AKID-test", "secret_key": "secret-t",
        "sdk_app_id": "1400006666", "sign_name": "演示超市", "endpoint": server.endpoint,
        "protocol": "http", "timeout": 3,
        "templates": {"campaign_offer": "2001", "points_expiring": "2002"},
    }  # fmt: skip
    reset_backends()
    yield server
    server.stop()
    travel.stop()
