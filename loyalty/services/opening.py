"""Opening balances: points a member brings in, and the points account of a new member."""

from django.db import transaction
from django.utils import timezone

from loyalty.ledger import bulk_post_opening_points, open_account, post_points_entry
from loyalty.models import PointsEntry

from .bonuses import grant_registration_bonus


@transaction.atomic
def grant_opening_points(
    *,
    member,
    points,
    source,
    actor=None,
    store=None,
    expires_at=None,
    reference="",
    key=None,
    at=None,
):
    """Points a member brings in (card opening, import): a dated lot like any earning.

    `expires_at` None means the expiry policy in force on the opening day (`at`, default
    today) decides.
    """
    open_account(member)
    if not points:
        return None
    if expires_at is None:
        from .rules import expires_at_for

        expires_at = expires_at_for(at or timezone.now())
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
        at=at,
    )


def open_points_for_new_member(*, member, opening, source, actor=None):
    """`members.hooks.member_opened`: the new member's points account, their opening points
    (a dated lot) and the registration bonus in force today (keyed: paid once)."""
    grant_opening_points(
        member=member,
        points=opening.points,
        source=source,
        actor=actor,
        store=opening.store,
        expires_at=opening.points_expire_at,
        reference=opening.reference,
        key=f"opening:points:{member.pk}",
        at=opening.at,
    )
    grant_registration_bonus(
        member=member, source=source, actor=actor, store=opening.store, at=opening.at
    )
    # The account cached on `member` while opening it holds the balance before the entries.
    member._state.fields_cache.pop("points_account", None)


def open_accounts_for_imported_members(*, opened, source, actor=None, at=None):
    """`members.hooks.members_imported`: points accounts and opening points, set-based."""
    return bulk_post_opening_points(
        items=(
            (row.member_id, row.points, row.points_expire_at, row.store_id, row.reference)
            for row in opened
        ),
        source=source,
        actor=actor,
        at=at,
    )
