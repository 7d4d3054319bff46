"""Till API views for checkout, refunds and the till's view of a member: one APIView per till
operation.

Each view validates the body with its serializer, resolves the member and calls one service;
`post_sale` applies redemption, coupons, stored value and accrual in one transaction, and the
idempotency claim (stores.api.idempotency) commits or rolls back with it. The member lookup and
card opening answer with points, stored value and count cards, so they live here, above every
ledger.
"""

from decimal import Decimal

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.models import Source
from members import services as member_services
from members.api.serializers import MemberRefSerializer, OpenMemberSerializer
from members.api.views import resolve_member
from sales import selectors as sales_selectors
from sales import services as sales_services
from sales.exceptions import SaleNotFound
from stores.api.idempotency import answer
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView

from . import serializers as s
from .serializers import MemberSummarySerializer

MEMBER = {"phone": "13812345678"}
LINES = [
    {"sku": "6901234567890", "name": "矿泉水", "category": "drinks", "qty": "2", "amount": "6.00"},
    {"sku": "6909876543210", "name": "面包", "category": "bakery", "qty": "1", "amount": "12.50"},
]
SALE_RESULT = {
    "receipt_no": "SH001-POS01-000123",
    "points_earned": 18,
    "points_redeemed": 100,
    "offset_amount": "1.00",
    "coupon_discount": "0.00",
    "coupons_used": [],
    "stored_value_used": "10.00",
    "amount_due": "7.50",
    "points": 1438,
    "stored_value": "350.00",
    "tier": {"code": "GOLD", "name": "金卡"},
    "tier_changed": False,
}

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
    "marketing_consent": {"sms": True, "wechat": False},
}


def summary_data(member):
    return MemberSummarySerializer(sales_selectors.member_summary(member)).data


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
                value={"phone": "13812345678", "name": "张三", "gender": "F",
                       "marketing_consent": {"sms": True, "wechat": False}},
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


def _tier(tier):
    return {"code": tier.code, "name": tier.name} if tier else None


def sale_answer(sale):
    """The body of `POST /sales` for `sale`, with the balances right after it."""
    member = sale.member
    tier = getattr(sale, "tier_after", None) or member.tier
    return s.SaleResultSerializer(
        {
            "receipt_no": sale.receipt_no,
            "points_earned": sale.points_earned,
            "points_redeemed": sale.points_redeemed,
            "offset_amount": sale.offset_amount,
            "coupon_discount": sale.coupon_discount,
            "coupons_used": [
                {"code": use.coupon.code, "discount": use.discount}
                for use in sale.coupons.select_related("coupon").order_by("pk")
            ]
            if sale.coupon_discount
            else [],
            "stored_value_used": sale.stored_value_amount,
            # Sale.amount_due is what the member paid (it earns points); the till collects
            # that less what stored value paid.
            "amount_due": sale.amount_due - sale.stored_value_amount,
            "points": sale.points_after,
            "stored_value": sale.stored_value_after,
            "tier": _tier(tier),
            "tier_changed": bool(sale.tier_changed),
        }
    ).data


def refund_answer(refund):
    return s.RefundResultSerializer(
        {
            "refund_no": refund.refund_no,
            "points_reversed": refund.points_reversed,
            "points_returned": refund.points_returned,
            "stored_value_returned": refund.stored_value_returned,
            "cash_returned": refund.amount_due
            - refund.stored_value_returned
            - refund.coupon_clawback,
            "coupons_returned": refund.coupons_returned,
            "points": refund.points_after,
            "stored_value": refund.stored_value_after,
        }
    ).data


def get_sale(store, receipt_no):
    """This store's sale with that receipt number, or 404 sale_not_found."""
    sale = sales_selectors.sale_of(store, receipt_no)
    if sale is None:
        raise SaleNotFound()
    return sale


class QuoteView(TillAPIView):
    """Changes nothing, so it needs no Idempotency-Key and keeps no idempotency record."""

    @extend_schema(
        operation_id="sales_quote",
        summary="Quote a basket (changes nothing)",
        request=s.QuoteSerializer,
        responses={
            200: s.QuoteResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "insufficient_points",
                "redemption_not_allowed",
                post="read",
            ),
        },
        examples=[
            OpenApiExample(
                "quote",
                value={"member": MEMBER, "lines": LINES, "redeem_points": 100},
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "points_to_earn": 18,
                    "max_redeem_points": 900,
                    "min_redeem_points": 100,
                    "redeem_step": 100,
                    "max_offset_amount": "9.00",
                    "offset_amount": "1.00",
                    "coupon_discount": "0.00",
                    "amount_due": "17.50",
                    "coupons": [],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        data = s.QuoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = resolve_member(data.validated_data["member"])
        quote = sales_services.quote_sale(
            store=self.store,
            member=member,
            lines=data.validated_data["lines"],
            redeem_points=data.validated_data["redeem_points"],
            coupon_codes=data.validated_data["coupon_codes"],
        )
        return Response(s.QuoteResultSerializer(quote).data)


class CouponEvaluateView(TillAPIView):
    """What coupons do to a basket; changes nothing, so it needs no Idempotency-Key. Without a
    member, only printed coupons can be checked (a code in the till's hand)."""

    @extend_schema(
        operation_id="coupons_evaluate",
        summary="Check coupons against a basket (changes nothing)",
        request=s.EvaluateSerializer,
        responses={
            200: s.EvaluateResultSerializer,
            **error_responses("invalid", "member_not_found", "member_inactive", post="read"),
        },
        examples=[
            OpenApiExample(
                "evaluate",
                value={"member": MEMBER, "lines": LINES, "coupon_codes": ["K7Q2M9XW4RTA8"]},
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "coupon_discount": "0.00",
                    "coupons": [
                        {
                            "code": "K7Q2M9XW4RTA8",
                            "name": "满50减10",
                            "applicable": False,
                            "reason": "coupon_threshold_not_met",
                            "discount": "0.00",
                            "shortfall": "31.50",
                        }
                    ],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        data = s.EvaluateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ref = data.validated_data.get("member")
        member = resolve_member(ref) if ref else None
        lines = sales_services.clean_lines(data.validated_data["lines"])
        outcomes, per_line = sales_services.evaluate_coupons(
            store=self.store,
            member=member,
            lines=lines,
            coupon_codes=data.validated_data["coupon_codes"],
        )
        body = {
            "coupon_discount": sum(per_line, Decimal("0.00")),
            "coupons": [sales_services.coupon_answer(o) for o in outcomes],
        }
        return Response(s.EvaluateResultSerializer(body).data)


class SaleView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="sales_create",
        summary="Check out a sale",
        parameters=[IDEMPOTENCY_KEY],
        request=s.SaleSerializer,
        responses={
            201: s.SaleResultSerializer,
            **error_responses(
                "invalid",
                "member_not_found",
                "member_inactive",
                "duplicate_receipt",
                "insufficient_points",
                "redemption_not_allowed",
                "insufficient_stored_value",
                "coupon_not_usable",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "checkout",
                value={
                    "receipt_no": "SH001-POS01-000123",
                    "member": MEMBER,
                    "lines": LINES,
                    "total": "18.50",
                    "redeem_points": 100,
                    "coupon_codes": [],
                    "stored_value_amount": "0.00",
                },
                request_only=True,
            ),
            OpenApiExample("result", value=SALE_RESULT, response_only=True),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = s.SaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        member = resolve_member(v["member"])
        sale = sales_services.post_sale(
            store=self.store,
            member=member,
            receipt_no=v["receipt_no"],
            lines=v["lines"],
            total=v["total"],
            redeem_points=v["redeem_points"],
            coupon_codes=tuple(v["coupon_codes"]),
            stored_value_amount=v["stored_value_amount"],
            source=Source.TILL,
            terminal=self.terminal,
        )
        return answer(sale_answer(sale), status.HTTP_201_CREATED, replayed=sale.replayed)


class SaleDetailView(TillAPIView):
    @extend_schema(
        operation_id="sales_retrieve",
        summary="Did this sale go through?",
        responses={200: s.SaleDetailSerializer, **error_responses("sale_not_found")},
    )
    def get(self, request, receipt_no):
        sale = get_sale(self.store, receipt_no)
        body = sale_answer(sale)
        refunds = sale.refunds.order_by("created_at", "pk")
        body["refunds"] = [refund_answer(refund) for refund in refunds]
        return Response(body)


class RefundView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="sales_refund",
        summary="Refund a sale, fully or some lines",
        parameters=[IDEMPOTENCY_KEY],
        request=s.RefundSerializer,
        responses={
            201: s.RefundResultSerializer,
            **error_responses(
                "invalid", "sale_not_found", "refund_exceeds_sale", "duplicate_refund", post=True
            ),
        },
        examples=[
            OpenApiExample(
                "partial",
                value={
                    "refund_no": "SH001-R-000045",
                    "lines": [{"sku": "6909876543210", "qty": "1", "amount": "12.50"}],
                },
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "refund_no": "SH001-R-000045",
                    "points_reversed": 12,
                    "points_returned": 68,
                    "stored_value_returned": "0.00",
                    "points": 1494,
                    "stored_value": "350.00",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request, receipt_no):
        data = s.RefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sale = get_sale(self.store, receipt_no)
        refund = sales_services.refund_sale(
            sale=sale,
            refund_no=data.validated_data["refund_no"],
            lines=data.validated_data.get("lines"),
            source=Source.TILL,
            terminal=self.terminal,
        )
        return answer(refund_answer(refund), status.HTTP_201_CREATED, replayed=refund.replayed)
