"""The one writer of the count-card ledger: nothing else inserts CountCardEntry rows or changes a
MemberCountCard's visits or expiry (a test walks the code for other writers; the database
refuses UPDATE and DELETE of entries)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.money import CENT

from .exceptions import CountCardNotUsable
from .models import CountCardEntry, MemberCountCard


def open_count_card(*, member, package, expires_at, store=None, at=None):
    """A new, empty count card: its visits arrive with the SALE entry the caller posts next,
    so the ledger always sums to the card's visits left."""
    return MemberCountCard.objects.create(
        member=member,
        package=package,
        visits_left=0,
        expires_at=expires_at,
        store=store,
        created_at=at or timezone.now(),
    )


def lock_count_card(card_id):
    """Lock one count card row for the rest of the transaction.

    Serializes two tills using the last visit of one card, so only one of them gets it.
    """
    return MemberCountCard.objects.select_for_update().get(pk=card_id)


@transaction.atomic
def post_count_card_entry(
    *,
    card,
    kind: str,
    visits: int,
    source: str,
    expires_at=None,
    amount=Decimal("0.00"),
    wallet_entry=None,
    actor=None,
    store=None,
    terminal=None,
    reason: str = "",
    reference: str = "",
    key: str | None = None,
    at=None,
) -> CountCardEntry:
    """Move a card's visits (signed) and optionally set its expiry, with an entry, under lock.

    Refuses to take visits below zero (CountCardNotUsable). `key` makes the write idempotent.
    """
    if not isinstance(visits, int) or isinstance(visits, bool):
        raise ValueError("visits must be an int")
    locked = lock_count_card(card.pk)
    if key:
        existing = CountCardEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    new_visits = locked.visits_left + visits
    if new_visits < 0:
        raise CountCardNotUsable.too_few_visits(left=locked.visits_left, wanted=-visits)
    new_expiry = expires_at or locked.expires_at
    entry = CountCardEntry.objects.create(
        card=locked,
        kind=kind,
        visits=visits,
        visits_after=new_visits,
        expires_after=new_expiry,
        amount=Decimal(amount).quantize(CENT),
        wallet_entry=wallet_entry,
        store=store,
        terminal=terminal,
        actor=actor,
        source=source,
        reason=reason[:200],
        reference=reference[:100],
        key=key or None,
        created_at=at or timezone.now(),
    )
    locked.visits_left, locked.expires_at = new_visits, new_expiry
    locked.save(update_fields=["visits_left", "expires_at"])
    card.visits_left, card.expires_at = new_visits, new_expiry
    return entry
