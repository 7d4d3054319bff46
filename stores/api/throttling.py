"""Per-till throttling: a till stuck in a retry loop must not starve the others."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TerminalRateThrottle(SimpleRateThrottle):
    """`settings.TILL_API_THROTTLE_RATE` requests per till (e.g. "1200/min").

    Counts live in the Django cache: set CACHE_URL to a shared cache (Redis) in production so
    that every gunicorn worker counts against the same budget.
    """

    scope = "terminal"

    def get_rate(self):
        return settings.TILL_API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        api_key = request.auth
        if api_key is None:
            return None  # not authenticated: the 401 comes first
        return self.cache_format % {"scope": self.scope, "ident": api_key.terminal_id}
