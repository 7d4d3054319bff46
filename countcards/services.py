"""Count-card services (次卡): sell, use a visit, renew (续次), expire.

Each ends in `countcards.ledger.post_count_card_entry`, the only writer of count cards; a card
paid from stored value pays through wallet's services.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wallet.services import pay_with_stored_value

from .exceptions import CountCardNotUsable, DuplicateVisit, InvalidCountCardOperation
from .ledger import open_count_card, post_count_card_entry
from .models import CountCardEntry, CountCardPackage, MemberCountCard

Kind = CountCardEntry.Kind


def _package(package):
    if isinstance(package, CountCardPackage):
        return package
    found = CountCardPackage.objects.filter(code=package).first()
    if found is None:
        raise InvalidCountCardOperation(fields={"package": [_("No such count-card package.")]})
    return found


@transaction.atomic
def sell_count_card(
    *,
    member,
    package,
    source,
    store=None,
    terminal=None,
    actor=None,
    pay_from_stored_value=False,
    reference="",
    key=None,
    at=None,
) -> MemberCountCard:
    """Sell a package to a member: a new card with the package's visits, valid `valid_days`.

    With `pay_from_stored_value` the price is paid from the member's wallet in the same
    transaction (InsufficientStoredValue refuses the whole sale). Same `key`: the first card.
    """
    package = _package(package)
    if key:
        existing = CountCardEntry.objects.filter(key=key).select_related("card").first()
        if existing is not None:
            return existing.card
    if not package.is_active:
        raise InvalidCountCardOperation(fields={"package": [_("This package is not on sale.")]})
    at = at or timezone.now()
    wallet_entry = None
    if pay_from_stored_value and package.price > 0:
        wallet_entry = pay_with_stored_value(
            member=member,
            amount=package.price,
            source=source,
            store=store,
            terminal=terminal,
            actor=actor,
            reference=reference or _("count card %s") % package.code,
            key=f"{key}:wallet" if key else None,
        )
    card = open_count_card(
        member=member,
        package=package,
        expires_at=at + timedelta(days=package.valid_days),
        store=store,
        at=at,
    )
    post_count_card_entry(
        card=card,
        kind=Kind.SALE,
        visits=package.visits,
        amount=package.price,
        wallet_entry=wallet_entry,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=key,
        at=at,
    )
    return card


@transaction.atomic
def use_count_card_visit(
    *,
    card,
    source,
    visits=1,
    store=None,
    terminal=None,
    actor=None,
    reference="",
    key=None,
    at=None,
) -> CountCardEntry:
    """Use `visits` (one) of a card. Refused when expired or not enough visits are left.

    The row lock in the ledger writer makes two tills using the last visit serialize: the
    second one sees zero and is refused, never below zero.
    """
    if visits <= 0:
        raise InvalidCountCardOperation(fields={"visits": [_("Use at least one visit.")]})
    at = at or timezone.now()
    if key:
        existing = CountCardEntry.objects.filter(key=key).first()
        if existing is not None:
            return _same_visit(existing, card, visits)
    locked = MemberCountCard.objects.select_for_update().get(pk=card.pk)
    if key:  # looked for again under the card's lock: another till may have just used it
        existing = CountCardEntry.objects.filter(key=key).first()
        if existing is not None:
            return _same_visit(existing, card, visits)
    if locked.expires_at <= at:
        expired = _("This count card expired on %s.") % timezone.localtime(locked.expires_at).date()
        raise CountCardNotUsable(expired, fields={"card_id": [expired]})
    entry = post_count_card_entry(
        card=locked,
        kind=Kind.USE,
        visits=-visits,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=key,
        at=at,
    )
    card.visits_left, card.expires_at = locked.visits_left, locked.expires_at
    entry.replayed = False
    return entry


def _same_visit(existing, card, visits):
    """A repeat of a keyed visit: the first entry if it is the same visit, else DuplicateVisit."""
    if existing.kind != Kind.USE or existing.card_id != card.pk or existing.visits != -visits:
        raise DuplicateVisit()
    existing.replayed = True
    return existing


@transaction.atomic
def renew_count_card(
    *,
    card,
    source,
    visits=None,
    extend_days=None,
    price=None,
    pay_from_stored_value=False,
    store=None,
    terminal=None,
    actor=None,
    reference="",
    key=None,
    at=None,
) -> CountCardEntry:
    """Renew a card (续次): add visits (default: the package's) and extend its expiry.

    The new expiry is `extend_days` (default: the package's valid days) after the later of
    now and the current expiry, so renewing early never shortens a card. Works on an expired
    or used-up card too. The price (default: the package's) may be paid from stored value.
    """
    at = at or timezone.now()
    if key:
        existing = CountCardEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    locked = MemberCountCard.objects.select_for_update().select_related("package").get(pk=card.pk)
    package = locked.package
    visits = package.visits if visits is None else int(visits)
    days = package.valid_days if extend_days is None else int(extend_days)
    price = package.price if price is None else Decimal(str(price))
    if visits <= 0 or days < 0 or price < 0:
        raise InvalidCountCardOperation(fields={"visits": [_("Renew with a positive number.")]})
    wallet_entry = None
    if pay_from_stored_value and price > 0:
        wallet_entry = pay_with_stored_value(
            member=locked.member,
            amount=price,
            source=source,
            store=store,
            terminal=terminal,
            actor=actor,
            reference=reference or _("count card renewal %s") % locked.pk,
            key=f"{key}:wallet" if key else None,
        )
    entry = post_count_card_entry(
        card=locked,
        kind=Kind.RENEW,
        visits=visits,
        expires_at=max(locked.expires_at, at) + timedelta(days=days),
        amount=price,
        wallet_entry=wallet_entry,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=key,
        at=at,
    )
    card.visits_left, card.expires_at = locked.visits_left, locked.expires_at
    return entry


def expire_count_cards(*, source, actor=None, at=None, chunk_size=500) -> int:
    """Zero the visits of cards past their expiry, one EXPIRE entry each; returns how many.

    Runs in chunks of card ids, one transaction per chunk, so it never holds long locks. The
    entry key names the card and the expiry it enforces, so a rerun adds nothing, while a card
    renewed and expired again gets a new entry.
    """
    at = at or timezone.now()
    expired = 0
    last_id = 0
    while True:
        ids = list(
            MemberCountCard.objects.filter(pk__gt=last_id, expires_at__lte=at, visits_left__gt=0)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            return expired
        last_id = ids[-1]
        with transaction.atomic():
            cards = MemberCountCard.objects.select_for_update().filter(pk__in=ids).order_by("pk")
            for card in cards:
                # Re-checked under the lock: a renewal may have landed since the id query.
                if card.visits_left <= 0 or card.expires_at > at:
                    continue
                post_count_card_entry(
                    card=card,
                    kind=Kind.EXPIRE,
                    visits=-card.visits_left,
                    source=source,
                    actor=actor,
                    reason=_("Expired"),
                    key=f"countcard-expire:{card.pk}:{card.expires_at.isoformat()}",
                    at=at,
                )
                expired += 1
