"""The till API, version 1: mounted at /api/v1/ by config/urls.py."""

from django.urls import include, path, re_path

from . import views

urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("", include("sales.api.urls")),
    path("", include("loyalty.api.urls")),
    path("", include("wallet.api.urls")),
    path("", include("countcards.api.urls")),
    path("", include("coupons.api.urls")),
    # Last: any other path under /api/v1/ answers 404 in the API's error shape.
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
