"""Reusable reads of count cards."""

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.sql import column, parallel_arrays, table

from .exceptions import CountCardNotFound
from .models import CountCardEntry, CountCardPackage, MemberCountCard


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


# What the till's lookup shows of each usable count card (API.md), in this order.
TILL_COUNT_CARD_KEYS = ("id", "package", "name", "visits_left", "expires_at")


def till_summary_sql():
    """The count-card part of the till's view of a member (sales.selectors.member_summary), as
    a LATERAL subquery over `m.id` and `%(now)s`: one array per key of TILL_COUNT_CARD_KEYS,
    the cards with visits left and not expired, soonest to expire first."""
    M, P = MemberCountCard, CountCardPackage
    expires = f"k.{column(M, 'expires_at')}"
    parts = [
        "k.id",
        f"p.{column(P, 'code')}",
        f"p.{column(P, 'name')}",
        f"k.{column(M, 'visits_left')}",
        expires,
    ]
    names = [f"card_{key}" for key in TILL_COUNT_CARD_KEYS]
    arrays = parallel_arrays(parts, names, order=f"{expires}, k.id")
    return (
        f"""CROSS JOIN LATERAL (
            SELECT {arrays}
            FROM {table(M)} k JOIN {table(P)} p ON p.id = k.{column(M, "package")}
            WHERE k.{column(M, "member")} = m.id AND k.{column(M, "visits_left")} > 0
              AND {expires} > %(now)s
        ) count_cards""",
        names,
    )


def count_card_of(member, card_id):
    """The member's count card with this id (CountCardNotFound if it is someone else's)."""
    card = MemberCountCard.objects.select_related("package").filter(pk=card_id, member=member)
    found = card.first()
    if found is None:
        raise CountCardNotFound()
    return found
