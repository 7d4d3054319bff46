"""gunicorn settings: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Every value can be overridden from the environment (GUNICORN_WORKERS, GUNICORN_BIND, ...).
The access log never records the query string of an /api/ path: a till looks members up by
phone number (`/api/v1/members/lookup?phone=...`), and phone numbers must never reach a log.
"""

import multiprocessing
import os
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 2 x cores: on the 2-core machine with PostgreSQL beside it, 4 sync workers served the most
# checkouts (docs/benchmarks.md); with the database on its own machine, 2 x cores + 1 is usual.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 500))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
# %(r)s is the request line with the query string removed for /api/ paths (see below);
# X-Request-ID ties an access line to the application log of a 500.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" req=%({x-request-id}o)s'


def scrub_query(uri):
    """`/api/v1/members/lookup?phone=138...` -> `/api/v1/members/lookup`; others unchanged."""
    if not uri:
        return uri
    path = urlsplit(uri).path
    return path if path.startswith("/api/") else uri


class ApiQueryScrubbingLogger(Logger):
    """An access logger that drops the query strings of /api/ paths from every atom."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO") or ""
        if path.startswith("/api/"):
            atoms["r"] = "{} {} {}".format(
                environ.get("REQUEST_METHOD"), path, environ.get("SERVER_PROTOCOL")
            )
            atoms["q"] = ""
            for name in ("{query_string}e", "{raw_uri}e", "{request_uri}e"):
                if name in atoms:
                    atoms[name] = "-"
        # A referrer can carry a query too (the API docs page), and a key must never be logged.
        atoms["f"] = scrub_query(atoms.get("f"))
        atoms.pop("{authorization}i", None)
        atoms.pop("{http_authorization}e", None)
        return atoms


logger_class = ApiQueryScrubbingLogger
