from django.urls import path

from . import views

urlpatterns = [
    path("members/lookup", views.MemberLookupView.as_view(), name="members-lookup"),
    path("members", views.OpenMemberView.as_view(), name="members-open"),
    path("wallet/recharges", views.RechargeView.as_view(), name="wallet-recharges"),
    path("wallet/plans", views.RechargePlanListView.as_view(), name="wallet-plans"),
    path("count-cards/visits", views.CountCardVisitView.as_view(), name="count-card-visits"),
]
