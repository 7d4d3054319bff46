"""Gift redemption (积分兑换) from a store's stock."""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from loyalty.exceptions import GiftNotFound, InvalidRedemption, OutOfStock
from loyalty.ledger import lock_account, open_account, post_points_entry
from loyalty.models import Gift, GiftRedemption, GiftStock, PointsEntry


@transaction.atomic
def redeem_gift(
    *, member, gift_code, qty, store, source, terminal=None, actor=None, key=None
) -> GiftRedemption:
    """Give a member `qty` of a gift from `store`'s stock for its points.

    Stock is taken by a conditional UPDATE (… WHERE quantity >= qty) whose row count is
    checked, so two tills cannot hand out the last gift twice (OutOfStock). Points go through
    the ledger (InsufficientPoints). `key` makes a retry return the first redemption.
    """
    qty = int(qty)
    if qty <= 0:
        raise InvalidRedemption(fields={"qty": [_("Redeem at least one.")]})
    gift = Gift.objects.filter(code=gift_code, is_active=True).first()
    if gift is None:
        raise GiftNotFound(fields={"gift": [_("No active gift has this code.")]})
    open_account(member)
    lock_account(member.pk)  # account before stock, as every points writer: no deadlock
    if key:
        existing = GiftRedemption.objects.filter(key=key).first()
        if existing is not None:
            return existing
    taken = GiftStock.objects.filter(gift=gift, store=store, quantity__gte=qty).update(
        quantity=F("quantity") - qty
    )
    if not taken:
        raise OutOfStock(
            fields={
                "gift": [
                    _("%(gift)s: fewer than %(qty)d left in this store.")
                    % {"gift": gift.name, "qty": qty}
                ]
            }
        )
    points = gift.points * qty
    entry = post_points_entry(
        member=member,
        points=-points,
        kind=PointsEntry.Kind.GIFT,
        source=source,
        actor=actor,
        store=store,
        terminal=terminal,
        reason=gift.name,
        reference=gift.code,
        key=f"gift:{key}" if key else None,
    )
    return GiftRedemption.objects.create(
        member=member,
        gift=gift,
        store=store,
        terminal=terminal,
        qty=qty,
        points_spent=points,
        entry=entry,
        key=key,
        source=source,
        actor=actor,
    )
