"""Maker-checker: the rule points and stored-value adjustments share.

An adjustment above the threshold waits for a second person holding the approval permission.
The threshold counts what the same person already asked for the same member that (Shanghai)
day, so a big adjustment split into small ones still needs the second person.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _


def day_range(at=None):
    """The local (Shanghai) day of `at` as [start, end) aware datetimes."""
    day = timezone.localdate(at or timezone.now())
    start = timezone.make_aware(datetime.combine(day, time()))
    return start, start + timedelta(days=1)


def needs_approval(*, model, member, actor, size, threshold, size_of, at=None):
    """Whether an adjustment of `size` (absolute) by `actor` for `member` goes above
    `threshold` together with the ones `actor` asked for the member today (pending or posted;
    `size_of(row)` measures one)."""
    start, end = day_range(at)
    earlier = model.objects.filter(
        member=member,
        requested_by=actor,
        created_at__gte=start,
        created_at__lt=end,
        status__in=[model.Status.PENDING, model.Status.POSTED],
    )
    return size + sum(size_of(row) for row in earlier) > threshold


def lock_for_decision(adjustment, *, actor, permission, refused):
    """The pending adjustment, locked, for `actor` to decide; `refused` (an exception class) if
    it was decided already, if `actor` lacks `permission`, or if `actor` asked for it."""
    locked = type(adjustment).objects.select_for_update().get(pk=adjustment.pk)
    if locked.status != locked.Status.PENDING:
        raise refused(_("This adjustment was already decided."))
    if actor is None or not actor.has_perm(permission):
        raise refused()
    if locked.requested_by_id == actor.pk:
        raise refused(_("A second person must approve your own adjustment."))
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    return locked
