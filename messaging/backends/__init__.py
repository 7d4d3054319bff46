"""Where messages leave: one backend per provider, chosen by the settings.

A backend's `send(message)` returns an Outcome and never raises for what the provider said:
ACCEPTED (with the provider's id), TRANSIENT (try again later, e.g. throttled), PERMANENT
(never try again: invalid number, template not approved; with the provider's code), or
UNKNOWN (the answer was lost: the provider may have taken it). `find(message)` asks the
provider whether it took a message with our id as its out-id, for the retry after an UNKNOWN
(None: the provider cannot say).
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

ACCEPTED, TRANSIENT, PERMANENT, UNKNOWN = "accepted", "transient", "permanent", "unknown"
# A retry_after that means "after the provider's day is over": the next morning, Shanghai.
MORNING = "morning"

BACKENDS = {
    "console": "messaging.backends.console.ConsoleBackend",
    "aliyun": "messaging.backends.aliyun.AliyunSmsBackend",
    "tencent": "messaging.backends.tencent.TencentSmsBackend",
    "wechat": "messaging.backends.wechat.WechatBackend",
    "inbox": "messaging.backends.console.InboxBackend",
}


@dataclass
class Outcome:
    status: str
    provider_id: str = ""
    code: str = ""
    detail: str = ""
    # For TRANSIENT: seconds until a retry may succeed (a per-number hourly limit: an hour),
    # or MORNING (a daily limit).
    retry_after: float | str | None = None
    delivered: bool = False
    extra: dict = field(default_factory=dict)


def backend_name(channel):
    """The backend name the settings choose for `channel` ("" = the channel is off)."""
    if channel == "inbox":
        return "inbox"
    if channel == "sms":
        return settings.MESSAGING_SMS_BACKEND
    if channel == "wechat":
        return settings.MESSAGING_WECHAT_BACKEND
    return ""


_cache = {}


def get_backend(name):
    """The backend instance of `name` (one per process and settings)."""
    key = (name, id(settings._wrapped))
    if key not in _cache:
        _cache.clear() if len(_cache) > 20 else None
        _cache[key] = import_string(BACKENDS[name])()
    return _cache[key]


def reset_backends():
    _cache.clear()


def sms_segments(text):
    """Billed parts of a Chinese SMS (sign included): up to 70 characters is one; a longer one is
    sent in parts of 67 (each part carries a header), as Aliyun and Tencent bill it."""
    n = len(text or "")
    if n <= 70:
        return 1 if n else 0
    return math.ceil(n / 67)


def next_morning(at, hour=8):
    """The first `hour`:00 in Shanghai after `at`."""
    local = timezone.localtime(at)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate
