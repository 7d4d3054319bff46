from django.urls import path

from . import views

urlpatterns = [
    path("count-cards/visits", views.CountCardVisitView.as_view(), name="count-card-visits"),
]
