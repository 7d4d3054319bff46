"""Till API views for coupons taken for points (积分兑换优惠券)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.models import Source
from coupons import services as coupon_services
from coupons.exceptions import CouponNotAvailable
from coupons.models import CouponTemplate
from members.api.views import resolve_member
from stores.api.idempotency import answer
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView

from .serializers import ExchangeableSerializer, ExchangeResultSerializer, ExchangeSerializer

MEMBER = {"phone": "13812345678"}


class ExchangeableView(TillAPIView):
    @extend_schema(
        operation_id="coupons_exchangeable",
        summary="Coupons a member may take for points here and now",
        responses={200: ExchangeableSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        templates = coupon_services.exchangeable_templates(store=self.store)
        return Response(ExchangeableSerializer(templates, many=True).data)


class ExchangeView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="coupons_exchange",
        summary="Take a coupon for points",
        parameters=[IDEMPOTENCY_KEY],
        request=ExchangeSerializer,
        responses={
            201: ExchangeResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "insufficient_points",
                "coupon_not_available",
                "duplicate_exchange",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "exchange",
                value={
                    "exchange_no": "SH001-POS01-X000007",
                    "member": MEMBER,
                    "template": "CASH10",
                },
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "exchange_no": "SH001-POS01-X000007",
                    "coupon": {
                        "code": "K7Q2M9XW4RTA8",
                        "name": "满50减10",
                        "expires_at": "2026-12-31T23:59:59+08:00",
                    },
                    "points_spent": 1000,
                    "points": 520,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = ExchangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        member = resolve_member(v["member"])
        template = CouponTemplate.objects.filter(code=v["template"]).first()
        if template is None:
            raise CouponNotAvailable(fields={"template": [_("No such coupon template.")]})
        coupon, entry, replayed = coupon_services.exchange_points_for_coupon(
            member=member,
            template=template,
            exchange_no=v["exchange_no"],
            store=self.store,
            terminal=self.terminal,
            source=Source.TILL,
        )
        body = {
            "exchange_no": v["exchange_no"],
            "coupon": {
                "code": coupon.code,
                "name": coupon.template.name,
                "expires_at": coupon.valid_until,
            },
            "points_spent": -entry.points,
            # The balance right after the exchange: the entry's, so a replay answers the same.
            "points": entry.balance_after,
        }
        return answer(
            ExchangeResultSerializer(body).data, status.HTTP_201_CREATED, replayed=replayed
        )
