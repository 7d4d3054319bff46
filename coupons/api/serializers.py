"""Till API serializers for coupons: validate everything, decide nothing."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members.api.serializers import DOCUMENT_NO, MONEY, MemberRefSerializer


class ExchangeableSerializer(serializers.Serializer):
    template = serializers.CharField(source="code")
    name = serializers.CharField()
    points = serializers.IntegerField(source="exchange_points")
    face_value = serializers.DecimalField(**MONEY, source="current_version.face_value")
    threshold = serializers.DecimalField(**MONEY, source="current_version.threshold")
    left = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Empty: no limit."))


class ExchangeSerializer(serializers.Serializer):
    exchange_no = serializers.CharField(
        max_length=40,
        validators=[DOCUMENT_NO],
        help_text=gettext_lazy("Unique per store for ever; a repeat answers the first exchange."),
    )
    member = MemberRefSerializer()
    template = serializers.CharField(max_length=20)


class ExchangedCouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ExchangeResultSerializer(serializers.Serializer):
    exchange_no = serializers.CharField()
    coupon = ExchangedCouponSerializer()
    points_spent = serializers.IntegerField()
    points = serializers.IntegerField(help_text=gettext_lazy("Points balance after."))
