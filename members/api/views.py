"""Till API views for members and stored value: one APIView per till operation.

Services are reached through their modules (`member_services.open_member`) so that this file
loads while the members and wallet work is still landing; the views stay thin adapters.
"""

from decimal import Decimal

from django.db.models import Subquery
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from members import selectors as member_selectors
from members import services as member_services
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView
from stores.models import Source

from .serializers import (
    CountCardVisitResultSerializer,
    CountCardVisitSerializer,
    MemberRefSerializer,
    MemberSummarySerializer,
    OpenMemberSerializer,
    RechargePlanSerializer,
    RechargeResultSerializer,
    RechargeSerializer,
)

MEMBER_EXAMPLE = {
    "member_no": "M000123",
    "name": "张三",
    "phone": "138****5678",
    "tier": {"code": "GOLD", "name": "金卡"},
    "points": 1520,
    "points_expiring": [{"points": 200, "expires_at": "2026-12-31T23:59:59+08:00"}],
    "stored_value": "350.00",
    "coupons": [{"code": "C8F2K1", "name": "满100减10", "expires_at": "2026-12-31T23:59:59+08:00"}],
    "count_cards": [
        {
            "id": 42,
            "package": "WASH10",
            "name": "洗车10次卡",
            "visits_left": 7,
            "expires_at": "2027-03-31T23:59:59+08:00",
        }
    ],
}


def resolve_member(ref):
    """The active member a till names: 404 member_not_found, 403 member_inactive."""
    member = member_services.find_member(**{k: v for k, v in ref.items() if v})
    member_services.ensure_member_active(member)
    return member


def summary_data(member):
    return MemberSummarySerializer(member_selectors.member_summary(member)).data


class MemberLookupView(TillAPIView):
    @extend_schema(
        operation_id="members_lookup",
        summary="Look up a member",
        parameters=[
            OpenApiParameter("phone", str, description="11-digit mobile number"),
            OpenApiParameter("card_no", str, description="card number"),
            OpenApiParameter("card", str, description="same as card_no"),
            OpenApiParameter("member_no", str),
        ],
        responses={
            200: MemberSummarySerializer,
            **error_responses("invalid", "member_not_found", "member_inactive"),
        },
        examples=[OpenApiExample("member", value=MEMBER_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        params = request.query_params.dict()
        if "card" in params:  # DESIGN.md's spelling of card_no; both are accepted
            params.setdefault("card_no", params.pop("card"))
        ref = MemberRefSerializer(data=params)
        ref.is_valid(raise_exception=True)
        return Response(summary_data(resolve_member(ref.validated_data)))


class OpenMemberView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="members_open",
        summary="Open a member card at the till",
        parameters=[IDEMPOTENCY_KEY],
        request=OpenMemberSerializer,
        responses={
            201: MemberSummarySerializer,
            **error_responses("invalid", "member_exists", post=True),
        },
        examples=[
            OpenApiExample(
                "open",
                value={"phone": "13812345678", "name": "张三", "gender": "F"},
                request_only=True,
            ),
            OpenApiExample("member", value=MEMBER_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = OpenMemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = member_services.open_member(
            **data.validated_data,
            home_store=self.store,
            source=Source.TILL,
            terminal=self.terminal,
        )
        return Response(summary_data(member), status=status.HTTP_201_CREATED)


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
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "recharge",
                value={"member": {"phone": "13812345678"}, "amount": "500.00", "plan": "R500"},
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={"amount": "500.00", "bonus": "50.00", "stored_value": "900.00"},
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = RechargeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = resolve_member(data.validated_data["member"])
        result = member_services.recharge_wallet(
            member=member,
            amount=data.validated_data["amount"],
            plan=data.validated_data["plan"] or None,
            source=Source.TILL,
            store=self.store,
            terminal=self.terminal,
            reference=request.headers.get("Idempotency-Key", ""),
        )
        body = {
            "amount": result.amount,
            "bonus": result.bonus,
            "stored_value": result.balance,
        }
        return Response(RechargeResultSerializer(body).data, status=status.HTTP_201_CREATED)


class RechargePlanListView(TillAPIView):
    @extend_schema(
        operation_id="wallet_plans",
        summary="Recharge plans this store offers now (充值方案)",
        responses={200: RechargePlanSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        plans = member_services.active_recharge_plans(store=self.store)
        return Response(RechargePlanSerializer(plans, many=True).data)


class CountCardVisitView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="count_cards_use_visit",
        summary="Use a visit of a member's count card (次卡核销)",
        parameters=[IDEMPOTENCY_KEY],
        request=CountCardVisitSerializer,
        responses={
            201: CountCardVisitResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "count_card_not_found",
                "count_card_not_usable",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "use one visit",
                value={"member": {"phone": "13812345678"}, "card_id": 42, "visits": 1},
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "card_id": 42,
                    "name": "洗车10次卡",
                    "visits_used": 1,
                    "visits_left": 6,
                    "expires_at": "2027-03-31T23:59:59+08:00",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = CountCardVisitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = resolve_member(data.validated_data["member"])
        card = member_selectors.count_card_of(member, data.validated_data["card_id"])
        entry = member_services.use_count_card_visit(
            card=card,
            visits=data.validated_data["visits"],
            source=Source.TILL,
            store=self.store,
            terminal=self.terminal,
            reference=request.headers.get("Idempotency-Key", ""),
        )
        body = {
            "card_id": card.pk,
            "name": card.package.name,
            "visits_used": -entry.visits,
            "visits_left": entry.visits_after,
            "expires_at": entry.expires_after,
        }
        return Response(CountCardVisitResultSerializer(body).data, status=status.HTTP_201_CREATED)


def member_balances(member):
    """(points, stored value) as this transaction sees them: right after our own write, and
    still under the row locks that write took, so no other till's sale can slip in between."""
    from loyalty.models import PointsAccount
    from members.models import Wallet

    wallet = Wallet.objects.filter(member=member)
    row = (
        PointsAccount.objects.filter(member=member)
        .annotate(
            principal=Subquery(wallet.values("principal")[:1]),
            bonus=Subquery(wallet.values("bonus")[:1]),
        )
        .values_list("balance", "principal", "bonus")
        .first()
    )
    if row is None:
        return 0, sum(wallet.values_list("principal", "bonus").first() or (), Decimal("0.00"))
    points, principal, bonus = row
    return points, (principal or Decimal("0.00")) + (bonus or Decimal("0.00"))
