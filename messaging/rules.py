"""When a message may go: quiet hours (no marketing from 21:00 to 08:00 in Shanghai, held to the
next morning), the weekly cap, the channels each kind of message uses."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .backends import backend_name
from .models import KIND_PURPOSE, PUSH_CHANNELS, Channel, Purpose
from .wording import template_text

WEEK = timedelta(days=7)


def is_quiet(at):
    """True from MESSAGING_QUIET_START:00 to MESSAGING_QUIET_END:00, Shanghai time."""
    hour = timezone.localtime(at).hour
    start, end = settings.MESSAGING_QUIET_START, settings.MESSAGING_QUIET_END
    return hour >= start or hour < end if start > end else start <= hour < end


def release_at(at, purpose):
    """When a message of `purpose` queued at `at` may go: marketing queued in quiet hours waits
    for the end of them (the same night's morning); everything else goes at once."""
    if purpose != Purpose.MARKETING or not is_quiet(at):
        return at
    local = timezone.localtime(at)
    morning = local.replace(hour=settings.MESSAGING_QUIET_END, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


def push_channels(kind, templates=None):
    """The push channels a message of `kind` goes by, in the order tried for each member: those
    whose backend is on and that have a wording for the kind."""
    order = [c for c in settings.MESSAGING_CHANNEL_ORDER if c in PUSH_CHANNELS]
    order += [c for c in PUSH_CHANNELS if c not in order]
    return [
        c for c in order if backend_name(c) and template_text(kind, c, templates)
    ]


def inbox_on(kind, templates=None):
    return bool(template_text(kind, Channel.INBOX, templates))


def purpose_of(kind):
    return KIND_PURPOSE[kind]
