"""Tier upgrades on a sale, the monthly retention review, and changes by hand."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import Refund, Sale, Tier, TierChange
from members.models import Member

ZERO = Decimal("0.00")
YEAR = timedelta(days=365)


def _sum(model, field, output, since):
    rows = (
        model.objects.filter(member=OuterRef("pk"), created_at__gte=since)
        .order_by()
        .values("member")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(0), output_field=output)


def with_rolling_progress(members, since):
    """Annotate members with spend_12m and points_12m: sales less refunds since `since`."""
    money = DecimalField(max_digits=14, decimal_places=2)
    number = IntegerField()
    return members.annotate(
        sales_spend=_sum(Sale, "amount_due", money, since),
        refund_spend=_sum(Refund, "amount_due", money, since),
        sales_points=_sum(Sale, "points_earned", number, since),
        refund_points=_sum(Refund, "points_reversed", number, since),
    )


def rolling_progress(member_id, at):
    """(spend, points) of a member over the 12 months before `at`, in one query."""
    row = (
        with_rolling_progress(Member.objects.filter(pk=member_id), at - YEAR)
        .values("sales_spend", "refund_spend", "sales_points", "refund_points")
        .get()
    )
    return (
        Decimal(row["sales_spend"]) - Decimal(row["refund_spend"]),
        row["sales_points"] - row["refund_points"],
    )


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
    the sales and refunds already written plus `pending_*` (the sale being posted)."""
    current = next((t for t in tiers if t.pk == member.tier_id), None)
    floor_rank = current.rank if current else -1
    candidates = [t for t in tiers if t.rank > floor_rank and t.has_upgrade_rule]
    if not candidates:
        return None, ""
    rolling = None
    if any(t.window == Tier.Window.ROLLING for t in candidates):
        spend, points = rolling_progress(member.pk, at)
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


def log_tier_change(
    *, member, from_tier, to_tier, reason, detail, source, actor, sale=None, key=None, at=None
):
    return TierChange.objects.create(
        member=member,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        detail=detail[:200],
        sale=sale,
        source=source,
        actor=actor,
        key=key,
        created_at=at or timezone.now(),
    )


@transaction.atomic
def change_tier(*, member, tier, reason, source, actor=None):
    """Set a member's tier by hand (head office), logged with the reason given."""
    before = member.tier
    if before == tier:
        return None
    Member.objects.filter(pk=member.pk).update(tier=tier)
    member.tier = tier
    return log_tier_change(
        member=member,
        from_tier=before,
        to_tier=tier,
        reason=TierChange.Reason.MANUAL,
        detail=reason,
        source=source,
        actor=actor,
    )


def review_tiers(*, as_of=None, source, actor=None, chunk_size=1000) -> int:
    """Monthly retention review: a member whose tier has a retention rule that their last 12
    months no longer meet drops to the best tier those 12 months still reach (the default tier
    at worst). Logged with why; run twice in one month, it changes nothing more (unique key).
    Chunked by member id, one transaction per chunk. Returns how many members moved down.
    """
    at = as_of or timezone.now()
    if not hasattr(at, "hour"):
        at = timezone.make_aware(timezone.datetime.combine(at, timezone.datetime.min.time()))
    tiers = list(Tier.objects.order_by("rank"))
    default = next((t for t in tiers if t.is_default), tiers[0] if tiers else None)
    retaining = [t.pk for t in tiers if t.retain_spend is not None or t.retain_points is not None]
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
                    at - YEAR,
                )[:chunk_size]
            )
            if not batch:
                return moved
            last_id = batch[-1].pk
            for member in batch:
                spend = Decimal(member.sales_spend) - Decimal(member.refund_spend)
                points = member.sales_points - member.refund_points
                if member.tier.retained_by(spend, points):
                    continue
                lower = [
                    t for t in tiers if t.rank < member.tier.rank and t.reached_by(spend, points)
                ]
                target = lower[-1] if lower else default
                if target is None or target.rank >= member.tier.rank:
                    continue
                key = f"review:{member.pk}:{month}"
                if TierChange.objects.filter(key=key).exists():
                    continue  # reviewed this month already: one step down per month
                # Only if the tier is still the one reviewed: a sale may have upgraded the member
                # since the batch was read, and a review must never undo that upgrade.
                if not Member.objects.filter(pk=member.pk, tier_id=member.tier_id).update(
                    tier=target
                ):
                    continue
                detail = _(
                    "last 12 months: spend ¥%(spend)s, points %(points)s do not keep %(tier)s"
                ) % {"spend": spend, "points": points, "tier": member.tier.name}
                log_tier_change(
                    member=member,
                    from_tier=member.tier,
                    to_tier=target,
                    reason=TierChange.Reason.DOWNGRADE,
                    detail=detail,
                    source=source,
                    actor=actor,
                    key=key,
                )
                moved += 1
