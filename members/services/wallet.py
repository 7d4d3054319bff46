"""Stored-value services: every change to a wallet goes through one of these functions."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum

from members.ledger import CENT, lock_wallet, post_wallet_entry
from members.models import WalletEntry


def _split(amount, principal, bonus):
    """Split `amount` between principal and bonus in the proportion the wallet holds them.

    Rounds the bonus share to the cent and gives the remainder to principal, then corrects if
    either side would go below zero because of rounding.
    """
    total = principal + bonus
    if not total:
        return amount, Decimal("0.00")
    bonus_part = (amount * bonus / total).quantize(CENT, rounding=ROUND_HALF_UP)
    principal_part = amount - bonus_part
    if principal_part > principal:
        principal_part, bonus_part = principal, amount - principal
    if bonus_part > bonus:
        principal_part, bonus_part = amount - bonus, bonus
    return principal_part, bonus_part


@transaction.atomic
def pay_with_stored_value(
    *, member, amount, source, store=None, terminal=None, actor=None, reference="", key=None
) -> WalletEntry:
    """Pay `amount` from the member's wallet, drawing principal and bonus in proportion.

    Raises InsufficientStoredValue if the wallet holds less than `amount`.
    """
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise ValueError("amount must be positive")
    wallet = lock_wallet(member.pk)
    principal_part, bonus_part = _split(amount, wallet.principal, wallet.bonus)
    return post_wallet_entry(
        member=member,
        kind=WalletEntry.Kind.PAYMENT,
        principal=-principal_part,
        bonus=-bonus_part,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=key,
    )


@transaction.atomic
def refund_stored_value(
    *, payment, amount, source, store=None, terminal=None, actor=None, reference="", key=None
) -> WalletEntry:
    """Give back `amount` of a stored-value `payment`, in the proportion that payment drew.

    Never gives back more than the payment took, over all its refunds together (refunds name
    the payment in their reference as `payment:<id>`).
    """
    amount = Decimal(amount).quantize(CENT)
    paid_principal, paid_bonus = -payment.principal, -payment.bonus
    lock_wallet(payment.wallet.member_id)
    back = WalletEntry.objects.filter(
        wallet=payment.wallet,
        kind=WalletEntry.Kind.REFUND,
        key__startswith=f"payment:{payment.pk}:",
    ).aggregate(p=Sum("principal"), b=Sum("bonus"))
    left_principal = paid_principal - (back["p"] or 0)
    left_bonus = paid_bonus - (back["b"] or 0)
    if amount > left_principal + left_bonus:
        raise ValueError(f"refund {amount} exceeds what is left of the payment")
    principal_part, bonus_part = _split(amount, left_principal, left_bonus)
    return post_wallet_entry(
        member=payment.wallet.member,
        kind=WalletEntry.Kind.REFUND,
        principal=principal_part,
        bonus=bonus_part,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=f"payment:{payment.pk}:{key or reference}",
    )
