"""Per-till throttling: a till stuck in a retry loop must not starve the others."""

import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

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
