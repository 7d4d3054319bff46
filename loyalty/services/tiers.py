"""Tier upgrades on a sale and the monthly retention review, from loyalty's own tier progress.

Lifetime progress is the points account's counters; "the last 12 months" is this month and the
11 before it (Shanghai calendar months), summed from the monthly TierProgress buckets that
every sale and refund moves. The tiers themselves (thresholds, benefits) and the record of each
change are the member's (members.Tier, members.services.log_tier_change).
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.ledger import progress_month
from loyalty.models import TierProgress
from members.models import Member, Tier, TierChange
from members.services import move_member_tier

ZERO = Decimal("0.00")
WINDOW_MONTHS = 12


def window_start(at):
    """The first month of the rolling window that ends in the month of `at`."""
    month = progress_month(at)
    index = month.year * 12 + month.month - 1 - (WINDOW_MONTHS - 1)
    return month.replace(year=index // 12, month=index % 12 + 1)


def _window_sum(field, output, at):
    rows = (
        TierProgress.objects.filter(
            account__member=OuterRef("pk"),
            month__gte=window_start(at),
            month__lte=progress_month(at),
        )
        .order_by()
        .values("account")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(0), output_field=output)


def with_rolling_progress(members, at):
    """Annotate members with `spend_12m` and `points_12m`: their progress over the window
    ending in the month of `at`."""
    return members.annotate(
        spend_12m=_window_sum("spend", DecimalField(max_digits=14, decimal_places=2), at),
        points_12m=_window_sum("points", IntegerField(), at),
    )


def rolling_progress(account_id, at):
    """(spend, points) of an account over the 12 months ending in the month of `at`."""
    totals = TierProgress.objects.filter(
        account_id=account_id, month__gte=window_start(at), month__lte=progress_month(at)
    ).aggregate(spend=Sum("spend"), points=Sum("points"))
    return totals["spend"] or ZERO, totals["points"] or 0


def _why(tier, spend, points, window_label):
    return _("%(window)s: spend ¥%(spend)s, points %(points)s reach %(tier)s") % {
        "window": window_label,
        "spend": spend,
        "points": points,
        "tier": tier.name,
    }


def upgrade_for(*, member, account, tiers, at, pending_spend=ZERO, pending_points=0):
    """The best tier above the member's that their progress reaches, with why; or (None, "").

    `account` carries the lifetime counters as they will be; the rolling window is read from
    the buckets already written plus `pending_*` (the sale being posted)."""
    current = next((t for t in tiers if t.pk == member.tier_id), None)
    floor_rank = current.rank if current else -1
    candidates = [t for t in tiers if t.rank > floor_rank and t.has_upgrade_rule]
    if not candidates:
        return None, ""
    rolling = None
    if any(t.window == Tier.Window.ROLLING for t in candidates):
        spend, points = rolling_progress(account.pk, at)
        rolling = (spend + pending_spend, points + pending_points)
    for tier in sorted(candidates, key=lambda t: -t.rank):
        if tier.window == Tier.Window.ROLLING:
            spend, points, label = rolling[0], rolling[1], _("last 12 months")
        else:
            spend, points = account.qualifying_spend, account.qualifying_points
            label = _("lifetime")
        if tier.reached_by(spend, points):
            return tier, _why(tier, spend, points, label)
    return None, ""


def review_tiers(*, as_of=None, source, actor=None, chunk_size=1000) -> int:
    """Monthly retention review: a member whose tier is counted over the last 12 months and
    whose last 12 months no longer meet its retention rule moves one tier down (one step a
    month: a member who stopped buying falls a tier each month, not to the bottom at once).
    Tiers counted over a lifetime are never reviewed (their progress only grows; the tier form
    refuses retention thresholds on them). Logged with why; run twice in one month, it changes
    nothing more (unique key). Chunked by member id, one transaction per chunk. Returns how
    many members moved down.
    """
    at = as_of or timezone.now()
    if not hasattr(at, "hour"):
        at = timezone.make_aware(timezone.datetime.combine(at, timezone.datetime.min.time()))
    # The review on the 1st looks back at the 12 months that have ended, not at the new one.
    measured = at - timezone.timedelta(days=1) if timezone.localtime(at).day == 1 else at
    tiers = list(Tier.objects.order_by("rank"))
    retaining = [t.pk for t in tiers if t.retained_over_rolling_window]
    if not retaining:
        return 0
    month = timezone.localtime(at).strftime("%Y-%m")
    moved, last_id = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                with_rolling_progress(
                    Member.objects.filter(tier_id__in=retaining, pk__gt=last_id)
                    .select_related("tier")
                    .order_by("pk"),
                    measured,
                )[:chunk_size]
            )
            if not batch:
                return moved
            last_id = batch[-1].pk
            for member in batch:
                spend, points = Decimal(member.spend_12m), member.points_12m
                if member.tier.retained_by(spend, points):
                    continue
                lower = [t for t in tiers if t.rank < member.tier.rank]
                if not lower:
                    continue
                target = lower[-1]  # one step down
                detail = _(
                    "last 12 months: spend ¥%(spend)s, points %(points)s do not keep %(tier)s"
                ) % {"spend": spend, "points": points, "tier": member.tier.name}
                # Keyed per member and month: one step down per month, however often it runs.
                if move_member_tier(
                    member=member,
                    from_tier=member.tier,
                    to_tier=target,
                    reason=TierChange.Reason.DOWNGRADE,
                    detail=detail,
                    source=source,
                    actor=actor,
                    reference=f"review:{month}",
                    key=f"review:{member.pk}:{month}",
                ):
                    moved += 1
