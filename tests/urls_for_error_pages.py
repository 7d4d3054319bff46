"""The real URLconf plus a page that fails, for the 500 page (tests/test_error_pages.py)."""

from django.urls import path

from config.urls import urlpatterns as real


def boom(request):
    raise RuntimeError("secret detail that must never reach a page")


urlpatterns = [path("boom/", boom), *real]
