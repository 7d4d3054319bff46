"""Requests no page can answer sensibly, refused before any view runs; and the page for a
database that is away for a moment."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.views.defaults import bad_request


class RefuseNulMiddleware:
    """A NUL character in the path or the query string of a back-office page: 400.

    PostgreSQL refuses NUL in text outright, so a NUL in an admin search box (`?q=%00`), a list
    filter or a text primary key in a URL would otherwise end as a database error and a 500.
    The till API checks its own path parameters and answers in its error shape instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and _has_nul(request):
            return bad_request(request, SuspiciousOperation("NUL character in the request"))
        return self.get_response(request)


def _has_nul(request):
    if "\x00" in request.path:
        return True
    return any("\x00" in key + "".join(values) for key, values in request.GET.lists())


class DatabaseUnavailableMiddleware:
    """A page whose database went away (PostgreSQL restarting, a dropped connection): 503 with
    Retry-After and the Chinese error page, not a 500. Nothing was half-written: the request's
    transaction, if any, died with the connection. The till API answers the same in its error
    shape (stores/api/exceptions.py). Kept connections are health-checked at the start of each
    request (CONN_HEALTH_CHECKS), so once the server is back the next request reconnects."""

    RETRY_AFTER = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError
        from django.template.loader import render_to_string

        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logging.getLogger("core.unavailable").warning(
            "Database unavailable: %s answered 503", request.path, exc_info=True
        )
        response = HttpResponse(render_to_string("503.html", request=request), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER)
        return response
