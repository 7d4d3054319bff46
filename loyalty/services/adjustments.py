"""Manual points adjustments (积分调整) and their approval."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.approvals import lock_for_decision, needs_approval
from loyalty.exceptions import ApprovalNotAllowed, InsufficientPoints, InvalidAdjustment
from loyalty.ledger import open_account, post_points_entry
from loyalty.models import PointsAccount, PointsAdjustment, PointsEntry

from .rules import expires_at_for


def points_balance(member):
    """The member's points balance now (0 without an account), for checks and forms."""
    return (
        PointsAccount.objects.filter(member=member).values_list("balance", flat=True).first() or 0
    )


def _post(adjustment, actor):
    open_account(adjustment.member)
    entry = post_points_entry(
        member=adjustment.member,
        points=adjustment.points,
        kind=PointsEntry.Kind.ADJUST,
        source=adjustment.source,
        actor=actor,
        store=adjustment.store,
        reason=f"{adjustment.get_reason_category_display()}: {adjustment.reason}",
        reference=f"adjustment:{adjustment.pk}",
        key=f"adjustment:{adjustment.pk}",
        expires_at=expires_at_for(timezone.now()) if adjustment.points > 0 else None,
    )
    adjustment.entry = entry
    adjustment.status = PointsAdjustment.Status.POSTED
    return entry


@transaction.atomic
def adjust_points(
    *, member, points, reason_category, reason, source, actor=None, store=None, key=None
) -> PointsAdjustment:
    """Add (positive) or take (negative) points by hand, with a reason category and text.

    Up to settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD points (absolute, counted with what the
    same person asked for the same member today) post at once; above it the adjustment waits
    (status pending) for another head-office user to approve. One adjustment moves at most
    settings.POINTS_ADJUSTMENT_MAX_POINTS (absolute). Taking points never drives the balance
    below zero (InsufficientPoints), checked when asked as well as when posted, so a refusal
    comes at once rather than after an approval. `key` makes a repeat (a double click) return
    the first adjustment.
    """
    if key:
        existing = PointsAdjustment.objects.filter(key=key).first()
        if existing is not None:
            return existing
    errors = {}
    limit = settings.POINTS_ADJUSTMENT_MAX_POINTS
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        errors["points"] = [_("A non-zero whole number of points.")]
    elif abs(points) > limit:
        errors["points"] = [
            _("At most %(limit)s points in one adjustment.") % {"limit": f"{limit:,}"}
        ]
    if reason_category not in PointsAdjustment.ReasonCategory.values:
        errors["reason_category"] = [_("Choose a reason category.")]
    if not (reason or "").strip():
        errors["reason"] = [_("A reason is required.")]
    if errors:
        raise InvalidAdjustment(fields=errors)
    if points < 0:
        balance = points_balance(member)
        if balance < -points:
            raise InsufficientPoints.of(balance=balance, wanted=-points)
    pending = needs_approval(
        model=PointsAdjustment,
        member=member,
        actor=actor,
        size=abs(points),
        threshold=settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD,
        size_of=lambda row: abs(row.points),
    )
    adjustment = PointsAdjustment.objects.create(
        member=member,
        points=points,
        reason_category=reason_category,
        reason=reason.strip()[:200],
        status=PointsAdjustment.Status.PENDING,
        store=store,
        source=source,
        requested_by=actor,
        key=key or None,
    )
    if not pending:
        _post(adjustment, actor)
        adjustment.save(update_fields=["entry", "status"])
    return adjustment


def _decide(adjustment, actor):
    return lock_for_decision(
        adjustment,
        actor=actor,
        permission="loyalty.approve_adjustment",
        refused=ApprovalNotAllowed,
    )


@transaction.atomic
def approve_adjustment(*, adjustment, actor, source) -> PointsAdjustment:
    """Post a pending adjustment. Needs `loyalty.approve_adjustment` and another user than the
    one who asked (ApprovalNotAllowed)."""
    adjustment = _decide(adjustment, actor)
    _post(adjustment, actor)
    adjustment.save(update_fields=["entry", "status", "decided_by", "decided_at"])
    return adjustment


@transaction.atomic
def reject_adjustment(*, adjustment, actor, source) -> PointsAdjustment:
    """Refuse a pending adjustment; no points move."""
    adjustment = _decide(adjustment, actor)
    adjustment.status = PointsAdjustment.Status.REJECTED
    adjustment.save(update_fields=["status", "decided_by", "decided_at"])
    return adjustment
