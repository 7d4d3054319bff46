from django.urls import path

from . import views

urlpatterns = [
    path("wallet/recharges", views.RechargeView.as_view(), name="wallet-recharges"),
    path("wallet/plans", views.RechargePlanListView.as_view(), name="wallet-plans"),
]
