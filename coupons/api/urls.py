from django.urls import path

from . import views

urlpatterns = [
    path("coupons/exchangeable", views.ExchangeableView.as_view(), name="coupons-exchangeable"),
    path("coupons/exchanges", views.ExchangeView.as_view(), name="coupons-exchanges"),
]
