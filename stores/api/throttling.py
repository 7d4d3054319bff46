"""Per-till throttling: a till stuck in a retry loop must not starve the others; and failed
key checks counted per key prefix and per client address, so guessing keys gets 429."""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from stores.models import TillAuthFailure

logger = logging.getLogger(__name__)


class TerminalRateThrottle(SimpleRateThrottle):
    """`settings.TILL_API_THROTTLE_RATE` requests per till (e.g. "1200/min").

    Counts live in the Django cache: set CACHE_URL to a shared cache (Redis) in production so
    that every gunicorn worker counts against the same budget.

    It fails open: when the cache cannot be read or written (Redis stopped, restarted, out of
    reach) the request goes through uncounted and a warning is logged (at most once a minute,
    settings.LOGGING). A store must be able to check out while Redis is away; the throttle
    only protects the other tills from a runaway one. With django-redis (IGNORE_EXCEPTIONS,
    core/caching.py) the cache itself never raises; this guard covers any other backend (
    Django's own RedisCache raises ConnectionError), and a history that is not a list counts
    as empty rather than failing in `len()`.
    """

    scope = "terminal"

    def get_rate(self):
        return settings.TILL_API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        api_key = request.auth
        if api_key is None:
            return None  # not authenticated: the 401 comes first
        return self.cache_format % {"scope": self.scope, "ident": api_key.terminal_id}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            history = self.cache.get(self.key)
        except Exception:  # any cache backend, any way of being down
            logger.warning("Till throttle cache unreadable: failing open", exc_info=True)
            return True
        self.history = history if isinstance(history, list) else []
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def throttle_success(self):
        self.history.insert(0, self.now)
        try:
            self.cache.set(self.key, self.history, self.duration)
        except Exception:
            logger.warning("Till throttle cache unwritable: failing open", exc_info=True)
        return True


# --- failed authentication -----------------------------------------------------------------


def _failure_limits():
    return {
        TillAuthFailure.Scope.PREFIX: settings.TILL_AUTH_FAILURES_PER_KEY,
        TillAuthFailure.Scope.ADDRESS: settings.TILL_AUTH_FAILURES_PER_ADDRESS,
    }


def note_auth_failure(*, prefix, address, now=None) -> int:
    """Count one failed till authentication against its key prefix and its client address
    (core.net.client_address); returns the seconds until the caller may try again if either
    is over its limit in the current window (TILL_AUTH_FAILURE_WINDOW), else 0.

    Only failures are counted and only failures are refused: the till API checks the key
    before it asks, so a till whose key is right is never slowed by someone else's wrong
    guesses for its prefix or from its address. Once over the limit nothing more is written
    until the window ends, so a flood of wrong keys costs one read each.
    """
    now = now or timezone.now()
    window = timedelta(seconds=settings.TILL_AUTH_FAILURE_WINDOW)
    wait = 0
    for scope, ident in ((TillAuthFailure.Scope.PREFIX, prefix),
                         (TillAuthFailure.Scope.ADDRESS, address)):  # fmt: skip
        if not ident:
            continue
        start, failures = _count(scope, str(ident)[:64], now, window, _failure_limits()[scope])
        if failures > _failure_limits()[scope]:
            wait = max(wait, math.ceil((start + window - now).total_seconds()))
    return wait


def _count(scope, ident, now, window, limit):
    rows = TillAuthFailure.objects.filter(scope=scope, ident=ident)
    row = rows.values_list("window_start", "failures").first()
    if row is not None and row[0] > now - window:
        start, failures = row
        if failures <= limit:
            # F() + 1: two workers counting the same prefix at once both count.
            rows.filter(window_start=start).update(failures=F("failures") + 1)
            failures += 1
        return start, failures
    # The first failure, or the first of a new window (two workers starting one at once
    # both write 1: the count is one low for that window, never locks anyone out early).
    TillAuthFailure.objects.update_or_create(
        scope=scope, ident=ident, defaults={"window_start": now, "failures": 1}
    )
    return now, 1


def forget_old_auth_failures(*, now=None) -> int:
    """Drop the counts whose window ended a day ago (the nightly purge)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TILL_AUTH_FAILURE_WINDOW)
    return TillAuthFailure.objects.filter(window_start__lt=cutoff - timedelta(days=1)).delete()[0]
