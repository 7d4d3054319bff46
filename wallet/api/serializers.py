"""Till API serializers for stored value: validate everything, decide nothing."""

from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members.api.serializers import DOCUMENT_NO, MONEY, MONEY_IN, MemberRefSerializer


class RechargePlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    pay_amount = serializers.DecimalField(**MONEY)
    bonus_amount = serializers.DecimalField(**MONEY)
    bonus_points = serializers.IntegerField()
    ends_at = serializers.DateTimeField(allow_null=True)


class RechargeSerializer(serializers.Serializer):
    recharge_no = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        validators=[DOCUMENT_NO],
        help_text=gettext_lazy(
            "Unique per store for ever; a repeat answers the first recharge. Optional for tills "
            "written before it existed (then only as safe as the Idempotency-Key)."
        ),
    )
    member = MemberRefSerializer()
    amount = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.01"))
    plan = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class RechargeResultSerializer(serializers.Serializer):
    recharge_no = serializers.CharField(allow_blank=True)
    amount = serializers.DecimalField(**MONEY)
    bonus = serializers.DecimalField(**MONEY)
    stored_value = serializers.DecimalField(**MONEY, help_text="Balance after the recharge.")
