"""Till API serializers for stored value: validate everything, decide nothing."""

from decimal import Decimal

from rest_framework import serializers

from members.api.serializers import MONEY, MONEY_IN, MemberRefSerializer


class RechargePlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    pay_amount = serializers.DecimalField(**MONEY)
    bonus_amount = serializers.DecimalField(**MONEY)
    bonus_points = serializers.IntegerField()
    ends_at = serializers.DateTimeField(allow_null=True)


class RechargeSerializer(serializers.Serializer):
    member = MemberRefSerializer()
    amount = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.01"))
    plan = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class RechargeResultSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    bonus = serializers.DecimalField(**MONEY)
    stored_value = serializers.DecimalField(**MONEY, help_text="Balance after the recharge.")
