"""Log filters.

`OncePerInterval` keeps an outage from flooding the log: while Redis is down every till call
would log the same ignored cache error (django-redis) and the same fail-open throttle warning,
hundreds a second. One record per logger and message gets through each interval; the next one
that gets through says how many were held back in between.
"""

import logging
import threading
import time


class OncePerInterval(logging.Filter):
    def __init__(self, seconds=60, name=""):
        super().__init__(name)
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last = {}
        self._held = {}

    def filter(self, record):
        key = (record.name, record.msg if isinstance(record.msg, str) else repr(record.msg))
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more like it held back since the last)"
            record.args = None
        return True
