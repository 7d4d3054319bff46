"""Fixtures for messaging: members with consent, a fixed morning, the providers' local servers."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.models import Source
from members.models import ConsentChannel, ConsentDoor, Member
from members.services.consent import record_consent
from messaging.backends import reset_backends
from tests.loyalty.conftest import make_member, tiers  # noqa: F401

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
def consenting(make_member):
    """A member who agreed to marketing SMS at the till."""
    return agree(make_member())


def members_qs(*members):
    return Member.objects.filter(pk__in=[m.pk for m in members])
