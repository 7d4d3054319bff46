"""The cache setting: what `CACHE_URL` becomes (config/settings.py and the tests use this).

A redis:// URL is served by django-redis with IGNORE_EXCEPTIONS: with Redis down a read is a
miss and a write is dropped, each logged by django-redis (settings.LOGGING lets one through a
minute), so nothing that reads the cache fails because Redis is away. Only the till API's
per-till throttle counts live there (stores/api/throttling.py), and nothing there must
survive. Short socket timeouts keep an unreachable Redis (a dropped route, not a refused
connection) from holding each request for long.
"""

REDIS_BACKEND = "django_redis.cache.RedisCache"


def cache_config(config, *, connect_timeout=0.5, timeout=0.5):
    """`config` as django-environ parsed it, with django-redis's fail-open options for Redis."""
    location = str(config.get("LOCATION") or "")
    if not location.startswith(("redis://", "rediss://", "unix://")):
        return config
    return {
        **config,
        "BACKEND": REDIS_BACKEND,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": connect_timeout,
            "SOCKET_TIMEOUT": timeout,
            **config.get("OPTIONS", {}),
        },
    }
