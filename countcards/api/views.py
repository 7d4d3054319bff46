"""Till API views for count cards: one APIView per till operation."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status

from core.models import Source
from countcards import selectors as count_card_selectors
from countcards import services as count_card_services
from members.api.views import resolve_member
from stores.api.idempotency import answer
from stores.api.schema import IDEMPOTENCY_KEY, error_responses
from stores.api.views import IdempotentTillAPIView

from .serializers import CountCardVisitResultSerializer, CountCardVisitSerializer


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
                "duplicate_visit",
                post=True,
            ),
        },
        examples=[
            OpenApiExample(
                "use one visit",
                value={
                    "visit_no": "SH001-POS01-V000012",
                    "member": {"phone": "13812345678"},
                    "card_id": 42,
                    "visits": 1,
                },
                request_only=True,
            ),
            OpenApiExample(
                "result",
                value={
                    "visit_no": "SH001-POS01-V000012",
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
        visit_no = data.validated_data["visit_no"]
        member = resolve_member(data.validated_data["member"])
        card = count_card_selectors.count_card_of(member, data.validated_data["card_id"])
        entry = count_card_services.use_count_card_visit(
            card=card,
            visits=data.validated_data["visits"],
            source=Source.TILL,
            store=self.store,
            terminal=self.terminal,
            reference=visit_no or request.headers.get("Idempotency-Key", ""),
            # Unique per store for ever: a till retrying under a fresh key gets the first one.
            key=f"visit:{self.store.pk}:{visit_no}" if visit_no else None,
        )
        body = {
            "visit_no": visit_no,
            "card_id": card.pk,
            "name": card.package.name,
            "visits_used": -entry.visits,
            "visits_left": entry.visits_after,
            "expires_at": entry.expires_after,
        }
        return answer(
            CountCardVisitResultSerializer(body).data,
            status.HTTP_201_CREATED,
            replayed=entry.replayed,
        )
