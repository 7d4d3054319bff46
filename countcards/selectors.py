"""Reusable reads of count cards."""

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .exceptions import CountCardNotFound
from .models import CountCardEntry, MemberCountCard


def count_card_ledger_differences():
    """Count cards whose visits left disagree with the sum of their entries."""
    total = Coalesce(
        Subquery(
            CountCardEntry.objects.filter(card=OuterRef("pk"))
            .order_by()
            .values("card")
            .annotate(total=Sum("visits"))
            .values("total")
        ),
        Value(0),
    )
    return (
        MemberCountCard.objects.annotate(visits_total=total)
        .filter(~Q(visits_left=F("visits_total")))
        .select_related("member", "package")
        .order_by("pk")
    )


def usable_count_cards(member, *, at=None):
    """The member's count cards with visits left and not expired, soonest to expire first."""
    cards = (
        MemberCountCard.objects.filter(
            member=member, visits_left__gt=0, expires_at__gt=at or timezone.now()
        )
        .select_related("package")
        .order_by("expires_at", "pk")
    )
    return [
        {
            "id": card.pk,
            "package": card.package.code,
            "name": card.package.name,
            "visits_left": card.visits_left,
            "expires_at": card.expires_at.isoformat(),
        }
        for card in cards
    ]


def count_card_of(member, card_id):
    """The member's count card with this id (CountCardNotFound if it is someone else's)."""
    card = MemberCountCard.objects.select_related("package").filter(pk=card_id, member=member)
    found = card.first()
    if found is None:
        raise CountCardNotFound()
    return found
