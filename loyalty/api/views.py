"""Till API views for gifts: one APIView per till operation."""

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.models import Source
from loyalty import services as loyalty_services
from loyalty.models import Gift, GiftStock, PointsAccount
from members.api.views import resolve_member
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView

from . import serializers as s

MEMBER = {"phone": "13812345678"}


def gifts_with_stock(store):
    """Active gifts with this store's stock (0 where the store holds none)."""
    stock = GiftStock.objects.filter(gift=OuterRef("pk"), store=store).values("quantity")[:1]
    return (
        Gift.objects.filter(is_active=True)
        .annotate(store_stock=Coalesce(Subquery(stock), Value(0)))
        .order_by("code")
    )


class GiftRedemptionView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="gifts_redeem",
        summary="Redeem a gift for points",
        parameters=[IDEMPOTENCY_KEY],
        request=s.GiftRedemptionSerializer,
        responses={
            201: s.GiftRedemptionResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "gift_not_found",
                "insufficient_points",
                "out_of_stock",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "redeem", value={"member": MEMBER, "gift": "MUG", "qty": 1}, request_only=True
            ),
            OpenApiExample(
                "result",
                value={"gift": "MUG", "qty": 1, "points_spent": 500, "points": 1020},
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = s.GiftRedemptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        member = resolve_member(v["member"])
        redemption = loyalty_services.redeem_gift(
            member=member,
            gift_code=v["gift"],
            qty=v["qty"],
            store=self.store,
            source=Source.TILL,
            terminal=self.terminal,
        )
        points = PointsAccount.objects.get(member=member).balance
        body = {
            "gift": redemption.gift.code,
            "qty": redemption.qty,
            "points_spent": redemption.points_spent,
            "points": points,
        }
        return Response(s.GiftRedemptionResultSerializer(body).data, status=status.HTTP_201_CREATED)


class GiftListView(TillAPIView):
    @extend_schema(
        operation_id="gifts_list",
        summary="The gift catalogue with this store's stock",
        responses={200: s.GiftSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        gifts = gifts_with_stock(self.store)
        return Response(s.GiftSerializer(gifts, many=True).data)
