"""Requests no page can answer sensibly, refused before any view runs."""

from django.core.exceptions import SuspiciousOperation
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
