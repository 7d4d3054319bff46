"""Till API serializers for gifts: validate everything, decide nothing."""

from rest_framework import serializers

from members.api.serializers import MemberRefSerializer


class GiftRedemptionSerializer(serializers.Serializer):
    member = MemberRefSerializer()
    gift = serializers.CharField(max_length=30)
    qty = serializers.IntegerField(min_value=1, max_value=999, required=False, default=1)


class GiftRedemptionResultSerializer(serializers.Serializer):
    gift = serializers.CharField()
    qty = serializers.IntegerField()
    points_spent = serializers.IntegerField()
    points = serializers.IntegerField(help_text="Points balance after the redemption.")


class GiftSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    points = serializers.IntegerField(help_text="Points for one.")
    stock = serializers.IntegerField(source="store_stock", help_text="This store's stock.")
