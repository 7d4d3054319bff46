from django.urls import path

from . import views

urlpatterns = [
    path("sales/quote", views.QuoteView.as_view(), name="sales-quote"),
    path("sales", views.SaleView.as_view(), name="sales-create"),
    path("sales/<str:receipt_no>", views.SaleDetailView.as_view(), name="sales-detail"),
    path("sales/<str:receipt_no>/refunds", views.RefundView.as_view(), name="sales-refunds"),
    path("gifts", views.GiftListView.as_view(), name="gifts-list"),
    path("gifts/redemptions", views.GiftRedemptionView.as_view(), name="gifts-redemptions"),
]
