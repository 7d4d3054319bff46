"""Opening balances: points a member brings in."""

from django.db import transaction
from django.utils import timezone

from loyalty.ledger import open_account, post_points_entry
from loyalty.models import PointsEntry


@transaction.atomic
def grant_opening_points(
    *, member, points, source, actor=None, store=None, expires_at=None, reference="", key=None
):
    """Points a member brings in (card opening, import): a dated lot like any earning.

    `expires_at` None means the expiry policy in force today decides.
    """
    open_account(member)
    if not points:
        return None
    if expires_at is None:
        from .rules import expires_at_for

        expires_at = expires_at_for(timezone.now())
    return post_points_entry(
        member=member,
        points=points,
        kind=PointsEntry.Kind.OPENING,
        source=source,
        actor=actor,
        store=store,
        expires_at=expires_at,
        reference=reference,
        key=key,
    )
