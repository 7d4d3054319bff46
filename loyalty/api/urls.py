from django.urls import path

from . import views

urlpatterns = [
    path("gifts", views.GiftListView.as_view(), name="gifts-list"),
    path("gifts/redemptions", views.GiftRedemptionView.as_view(), name="gifts-redemptions"),
]
