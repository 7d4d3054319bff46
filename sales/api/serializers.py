"""Till API serializers for checkout, refunds and the till's view of a member: validate
everything, decide nothing."""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from countcards.api.serializers import CountCardSerializer
from members.api.serializers import (
    DOCUMENT_NO,
    MONEY,
    MONEY_IN,
    POINTS_IN,
    MarketingConsentSerializer,
    MemberRefSerializer,
    TierSerializer,
)

QTY = {"max_digits": 9, "decimal_places": 3, "min_value": Decimal("0.001")}


class ExpiringPointsSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text=gettext_lazy("cash, percent or free_item"))
    face_value = serializers.DecimalField(**MONEY)
    threshold = serializers.DecimalField(**MONEY)
    valid_from = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text=gettext_lazy("The last second it works."))


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
    marketing_consent = MarketingConsentSerializer(
        help_text=gettext_lazy("Whether the member agrees to marketing by SMS / WeChat (v1.1).")
    )


class SaleLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    qty = serializers.DecimalField(**QTY)
    amount = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.00"))


def coupon_codes_field():
    return serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=20, required=False, default=list
    )


class QuoteSerializer(serializers.Serializer):
    member = MemberRefSerializer()
    lines = SaleLineSerializer(many=True, allow_empty=False, max_length=500)
    redeem_points = serializers.IntegerField(**POINTS_IN, required=False, default=0)
    coupon_codes = coupon_codes_field()


class EvaluateSerializer(serializers.Serializer):
    member = MemberRefSerializer(required=False)
    lines = SaleLineSerializer(many=True, allow_empty=False, max_length=500)
    coupon_codes = coupon_codes_field()


class QuoteCouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    applicable = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    discount = serializers.DecimalField(**MONEY)
    shortfall = serializers.DecimalField(**MONEY, allow_null=True)


class QuoteResultSerializer(serializers.Serializer):
    points_to_earn = serializers.IntegerField()
    max_redeem_points = serializers.IntegerField()
    min_redeem_points = serializers.IntegerField(
        help_text=gettext_lazy("The fewest points a sale may redeem (0: no redemption here).")
    )
    redeem_step = serializers.IntegerField(
        help_text=gettext_lazy("Points are redeemed in multiples of this.")
    )
    max_offset_amount = serializers.DecimalField(**MONEY)
    offset_amount = serializers.DecimalField(**MONEY)
    coupon_discount = serializers.DecimalField(**MONEY)
    amount_due = serializers.DecimalField(
        **MONEY, help_text=gettext_lazy("Total less points offset and coupon discount.")
    )
    coupons = QuoteCouponSerializer(many=True)


class EvaluateResultSerializer(serializers.Serializer):
    coupon_discount = serializers.DecimalField(**MONEY)
    coupons = QuoteCouponSerializer(many=True)


class SaleSerializer(serializers.Serializer):
    receipt_no = serializers.CharField(max_length=40, validators=[DOCUMENT_NO])
    member = MemberRefSerializer()
    lines = SaleLineSerializer(many=True, allow_empty=False, max_length=500)
    total = serializers.DecimalField(**MONEY_IN, min_value=Decimal("0.00"))
    redeem_points = serializers.IntegerField(**POINTS_IN, required=False, default=0)
    coupon_codes = coupon_codes_field()
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


class CouponUsedSerializer(serializers.Serializer):
    code = serializers.CharField()
    discount = serializers.DecimalField(**MONEY)


class SaleResultSerializer(serializers.Serializer):
    receipt_no = serializers.CharField()
    points_earned = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    offset_amount = serializers.DecimalField(**MONEY)
    coupon_discount = serializers.DecimalField(**MONEY)
    coupons_used = CouponUsedSerializer(many=True)
    stored_value_used = serializers.DecimalField(**MONEY)
    amount_due = serializers.DecimalField(
        **MONEY,
        help_text=gettext_lazy(
            "What the cashier still collects by other tenders: total less points offset, "
            "coupon discount and stored value used."
        ),
    )
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
    cash_returned = serializers.DecimalField(
        **MONEY,
        help_text=gettext_lazy("What the cashier pays back by other tenders (not stored value)."),
    )
    coupons_returned = serializers.ListField(child=serializers.CharField())
    points = serializers.IntegerField(help_text="Points balance after the refund.")
    stored_value = serializers.DecimalField(**MONEY, help_text="Stored value after the refund.")


class SaleDetailSerializer(SaleResultSerializer):
    refunds = RefundResultSerializer(many=True)
