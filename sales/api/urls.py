from django.urls import path

from . import views

urlpatterns = [
    path("members/lookup", views.MemberLookupView.as_view(), name="members-lookup"),
    path("members", views.OpenMemberView.as_view(), name="members-open"),
    path("sales/quote", views.QuoteView.as_view(), name="sales-quote"),
    path("coupons/evaluate", views.CouponEvaluateView.as_view(), name="coupons-evaluate"),
    path("sales", views.SaleView.as_view(), name="sales-create"),
    path("sales/<str:receipt_no>", views.SaleDetailView.as_view(), name="sales-detail"),
    path("sales/<str:receipt_no>/refunds", views.RefundView.as_view(), name="sales-refunds"),
]
