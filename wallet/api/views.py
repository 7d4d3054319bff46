"""Till API views for stored value: one APIView per till operation."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.models import Source
from members.api.views import resolve_member
from stores.api.idempotency import answer
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView
from wallet import services as wallet_services

from .serializers import RechargePlanSerializer, RechargeResultSerializer, RechargeSerializer


class RechargeView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="wallet_recharge",
        summary="Top up stored value",
        parameters=[IDEMPOTENCY_KEY],
        request=RechargeSerializer,
        responses={
            201: RechargeResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "recharge_plan_not_available",
                "duplicate_recharge",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "recharge",
                value={
                    "recharge_no": "SH001-POS01-R000045",
                    "member": {"phone": "13812345678"},
                    "amount": "500.00",
                    "plan": "R500",
                },
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "recharge_no": "SH001-POS01-R000045",
                    "amount": "500.00",
                    "bonus": "50.00",
                    "stored_value": "900.00",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = RechargeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recharge_no = data.validated_data["recharge_no"]
        member = resolve_member(data.validated_data["member"])
        result = wallet_services.recharge_wallet(
            member=member,
            amount=data.validated_data["amount"],
            plan=data.validated_data["plan"] or None,
            source=Source.TILL,
            store=self.store,
            terminal=self.terminal,
            reference=recharge_no or request.headers.get("Idempotency-Key", ""),
            # Unique per store for ever: a till retrying under a fresh key gets the first one.
            key=f"recharge:{self.store.pk}:{recharge_no}" if recharge_no else None,
        )
        body = {
            "recharge_no": recharge_no,
            "amount": result.amount,
            "bonus": result.bonus,
            "stored_value": result.balance,
        }
        return answer(
            RechargeResultSerializer(body).data, status.HTTP_201_CREATED, replayed=result.replayed
        )


class RechargePlanListView(TillAPIView):
    @extend_schema(
        operation_id="wallet_plans",
        summary="Recharge plans this store offers now (充值方案)",
        responses={200: RechargePlanSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        plans = wallet_services.active_recharge_plans(store=self.store)
        return Response(RechargePlanSerializer(plans, many=True).data)
