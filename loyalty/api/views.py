"""Till API views for checkout, refunds and gifts: one APIView per till operation.

Each view validates the body with its serializer, resolves the member and calls one service;
`post_sale` applies redemption, coupons, stored value and accrual in one transaction, and the
idempotency claim (stores.api.idempotency) commits or rolls back with it.
"""

from decimal import Decimal

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.errors import DomainError
from loyalty import services as loyalty_services
from loyalty.models import Gift, GiftStock, Sale
from members.api.views import member_balances, resolve_member
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView, TillAPIView
from stores.models import Source

from . import serializers as s

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
    "amount_due": "17.50",
    "points": 1438,
    "stored_value": "350.00",
    "tier": {"code": "GOLD", "name": "金卡"},
    "tier_changed": False,
}


class SaleNotFound(DomainError):
    code = "sale_not_found"
    status = 404
    default_message = _("No sale with this receipt number in this store.")


def _tier(tier):
    return {"code": tier.code, "name": tier.name} if tier else None


def sale_answer(sale, points, stored_value):
    """The body of `POST /sales` for `sale`, with the balances after it."""
    member = sale.member
    tier = getattr(sale, "tier_after", None) or member.tier
    return s.SaleResultSerializer(
        {
            "receipt_no": sale.receipt_no,
            "points_earned": sale.points_earned,
            "points_redeemed": sale.points_redeemed,
            "offset_amount": sale.offset_amount,
            "amount_due": sale.amount_due,
            "points": points,
            "stored_value": stored_value,
            "tier": _tier(tier),
            "tier_changed": bool(sale.tier_changed),
        }
    ).data


def refund_answer(refund, points, stored_value):
    return s.RefundResultSerializer(
        {
            "refund_no": refund.refund_no,
            "points_reversed": refund.points_reversed,
            "points_returned": refund.points_returned,
            "stored_value_returned": refund.stored_value_returned,
            "points": points,
            "stored_value": stored_value,
        }
    ).data


def balances_after(*, sale=None, refund=None):
    """(points, stored value) right after a sale or refund, read back from the ledgers.

    The ledger entries a sale or refund wrote carry their balance after; when it wrote none
    (no points moved, no stored value), the last entry before it tells the same.
    """
    from loyalty.models import PointsEntry
    from members.models import WalletEntry

    event = sale or refund
    member_id = event.member_id
    points_entries = PointsEntry.objects.filter(account__member_id=member_id).order_by(
        "-created_at", "-pk"
    )
    own = points_entries.filter(**({"sale": sale, "refund": None} if sale else {"refund": refund}))
    points = own.values_list("balance_after", flat=True).first()
    if points is None:
        points = (
            points_entries.filter(created_at__lte=event.created_at)
            .values_list("balance_after", flat=True)
            .first()
        ) or 0
    wallet_entries = WalletEntry.objects.filter(wallet__member_id=member_id).order_by(
        "-created_at", "-pk"
    )
    if sale is not None and sale.wallet_entry_id:
        wallet_entries = wallet_entries.filter(pk=sale.wallet_entry_id)
    elif refund is not None and refund.stored_value_returned:
        # refund_sale gives stored value back under this key (members.services.wallet).
        wallet_entries = wallet_entries.filter(
            key=f"payment:{refund.sale.wallet_entry_id}:refund:{refund.pk}"
        )
    else:
        wallet_entries = wallet_entries.filter(created_at__lte=event.created_at)
    after = wallet_entries.values_list("principal_after", "bonus_after").first()
    stored_value = sum(after) if after else Decimal("0.00")
    return points, stored_value


def gifts_with_stock(store):
    """Active gifts with this store's stock (0 where the store holds none)."""
    stock = GiftStock.objects.filter(gift=OuterRef("pk"), store=store).values("quantity")[:1]
    return (
        Gift.objects.filter(is_active=True)
        .annotate(store_stock=Coalesce(Subquery(stock), Value(0)))
        .order_by("code")
    )


def get_sale(store, receipt_no):
    """This store's sale with that receipt number, or 404 sale_not_found."""
    sale = (
        Sale.objects.select_related("member__tier")
        .filter(store=store, receipt_no=receipt_no)
        .first()
    )
    if sale is None:
        raise SaleNotFound()
    return sale


class QuoteView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="sales_quote",
        summary="Quote a basket (changes nothing)",
        parameters=[IDEMPOTENCY_KEY],
        request=s.QuoteSerializer,
        responses={
            200: s.QuoteResultSerializer,
            **error_responses("invalid", "member_not_found", "member_inactive", post=True),
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
                    "max_offset_amount": "9.00",
                    "offset_amount": "1.00",
                    "coupons": [],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request):
        data = s.QuoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = resolve_member(data.validated_data["member"])
        quote = loyalty_services.quote_sale(
            store=self.store,
            member=member,
            lines=data.validated_data["lines"],
            redeem_points=data.validated_data["redeem_points"],
        )
        return Response(s.QuoteResultSerializer(quote).data)


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
        sale = loyalty_services.post_sale(
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
        # A new sale carries the balances it left; a repeat of an earlier one reads them.
        points, stored_value = getattr(sale, "balances_after", None) or member_balances(member)
        return Response(sale_answer(sale, points, stored_value), status=status.HTTP_201_CREATED)


class SaleDetailView(TillAPIView):
    @extend_schema(
        operation_id="sales_retrieve",
        summary="Did this sale go through?",
        responses={200: s.SaleDetailSerializer, **error_responses("sale_not_found")},
    )
    def get(self, request, receipt_no):
        sale = get_sale(self.store, receipt_no)
        body = sale_answer(sale, *balances_after(sale=sale))
        body["refunds"] = [
            refund_answer(refund, *balances_after(refund=refund))
            for refund in sale.refunds.select_related("sale").order_by("created_at", "pk")
        ]
        return Response(body)


class RefundView(IdempotentTillAPIView):
    @extend_schema(
        operation_id="sales_refund",
        summary="Refund a sale, fully or some lines",
        parameters=[IDEMPOTENCY_KEY],
        request=s.RefundSerializer,
        responses={
            201: s.RefundResultSerializer,
            **error_responses("invalid", "sale_not_found", "refund_exceeds_sale", post=True),
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
        refund = loyalty_services.refund_sale(
            sale=sale,
            refund_no=data.validated_data["refund_no"],
            lines=data.validated_data.get("lines"),
            source=Source.TILL,
            terminal=self.terminal,
        )
        points, stored_value = member_balances(sale.member)
        return Response(refund_answer(refund, points, stored_value), status=status.HTTP_201_CREATED)


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
        points, _stored_value = member_balances(member)
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
