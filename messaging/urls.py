from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("hooks/aliyun/<str:token>/report", views.aliyun_report, name="aliyun-report"),
    path("hooks/aliyun/<str:token>/reply", views.aliyun_reply, name="aliyun-reply"),
    path("hooks/tencent/<str:token>/report", views.tencent_report, name="tencent-report"),
    path("hooks/tencent/<str:token>/reply", views.tencent_reply, name="tencent-reply"),
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
]
