"""Till API serializers for checkout, refunds and the till's view of a member: validate
everything, decide nothing."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from countcards.api.serializers import CountCardSerializer
from members.api.serializers import (
    MONEY,
    MONEY_IN,
    POINTS_IN,
    MemberRefSerializer,
    TierSerializer,
)

QTY = {"max_digits": 9, "decimal_places": 3, "min_value": Decimal("0.001")}
# Receipt and refund numbers end up in URLs (GET /sales/{receipt_no}): no slash, no spaces,
# no control characters (a path parameter holding one is refused: it could never be looked up).
DOCUMENT_NO = RegexValidator(
    r"^[^/\\\s?#%\x00-\x1f\x7f]+$",
    gettext_lazy("No slash, space, question mark, hash, percent sign or control character."),
)


class ExpiringPointsSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MemberSummarySerializer(serializers.Serializer):
    """The lookup answer (API.md); the phone is always masked."""

    member_no = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(help_text=gettext_lazy("Masked: 138****5678."))
    tier = TierSerializer(allow_null=True)
    points = serializers.IntegerField()
    points_expiring = ExpiringPointsSerializer(many=True, help_text="Soonest first.")
    stored_value = serializers.DecimalField(**MONEY)
    coupons = CouponSerializer(many=True)
    count_cards = CountCardSerializer(many=True)


class SaleLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    qty = serializers.DecimalField(**QTY)
    amount = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.00"))


class QuoteSerializer(serializers.Serializer):
    member = MemberRefSerializer()
    lines = SaleLineSerializer(many=True, allow_empty=False, max_length=500)
    redeem_points = serializers.IntegerField(**POINTS_IN, required=False, default=0)


class QuoteResultSerializer(serializers.Serializer):
    points_to_earn = serializers.IntegerField()
    max_redeem_points = serializers.IntegerField()
    max_offset_amount = serializers.DecimalField(**MONEY)
    offset_amount = serializers.DecimalField(**MONEY)
    coupons = CouponSerializer(many=True)


class SaleSerializer(serializers.Serializer):
    receipt_no = serializers.CharField(max_length=40, validators=[DOCUMENT_NO])
    member = MemberRefSerializer()
    lines = SaleLineSerializer(many=True, allow_empty=False, max_length=500)
    total = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.00"))
    redeem_points = serializers.IntegerField(**POINTS_IN, required=False, default=0)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=20
    )
    stored_value_amount = serializers.DecimalField(
        **MONEY_IN, min_value=Decimal("0.00"), required=False, default=Decimal("0.00")
    )

    def validate(self, attrs):
        # The service checks it too; refusing here names the field for the till.
        if sum((line["amount"] for line in attrs["lines"]), Decimal("0.00")) != attrs["total"]:
            raise serializers.ValidationError(
                {"total": [_("The total must equal the sum of the line amounts.")]}
            )
        return attrs


class SaleResultSerializer(serializers.Serializer):
    receipt_no = serializers.CharField()
    points_earned = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    offset_amount = serializers.DecimalField(**MONEY)
    amount_due = serializers.DecimalField(**MONEY)
    points = serializers.IntegerField(help_text="Points balance after the sale.")
    stored_value = serializers.DecimalField(**MONEY, help_text="Stored value after the sale.")
    tier = TierSerializer(allow_null=True)
    tier_changed = serializers.BooleanField()


class RefundLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    qty = serializers.DecimalField(**QTY)
    amount = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.00"))


class RefundSerializer(serializers.Serializer):
    refund_no = serializers.CharField(max_length=40, validators=[DOCUMENT_NO])
    lines = RefundLineSerializer(many=True, required=False, allow_empty=False, max_length=500)


class RefundResultSerializer(serializers.Serializer):
    refund_no = serializers.CharField()
    points_reversed = serializers.IntegerField()
    points_returned = serializers.IntegerField()
    stored_value_returned = serializers.DecimalField(**MONEY)
    points = serializers.IntegerField(help_text="Points balance after the refund.")
    stored_value = serializers.DecimalField(**MONEY, help_text="Stored value after the refund.")


class SaleDetailSerializer(SaleResultSerializer):
    refunds = RefundResultSerializer(many=True)
