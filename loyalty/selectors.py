"""Reusable reads of the points ledger."""

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from core.sql import column, parallel_arrays, table

from .models import PointsAccount, PointsEntry, PointsLot


def _sum(model, field, **filters):
    return Coalesce(
        Subquery(
            model.objects.filter(account=OuterRef("pk"), **filters)
            .order_by()
            .values("account")
            .annotate(total=Sum(field))
            .values("total"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def points_ledger_differences():
    """Accounts whose balance disagrees with their entries or with what is left in their lots.

    balance == SUM(entry points) and SUM(lot remaining) == max(balance, 0): a debt left by a
    refund is not backed by any lot.
    """
    return (
        PointsAccount.objects.annotate(
            entries_total=_sum(PointsEntry, "points"),
            lots_total=_sum(PointsLot, "remaining"),
        )
        .filter(~Q(balance=F("entries_total")) | ~Q(lots_total=Greatest(F("balance"), Value(0))))
        .select_related("member")
        .order_by("member_id")
    )


def points_expiring(*, days=30, as_of=None):
    """Members with points expiring in the next `days` days (for reminders), annotated with
    `expiring_points` and `first_expiry`, soonest first."""
    from datetime import timedelta

    from django.db.models import Min
    from django.utils import timezone

    from members.models import Member

    start = as_of or timezone.now()
    return (
        Member.objects.filter(
            points_account__lots__remaining__gt=0,
            points_account__lots__expires_at__gt=start,
            points_account__lots__expires_at__lte=start + timedelta(days=days),
        )
        .annotate(
            expiring_points=Sum("points_account__lots__remaining"),
            first_expiry=Min("points_account__lots__expires_at"),
        )
        .select_related("tier", "home_store")
        .order_by("first_expiry", "pk")
    )


def recent_points_entries(member, limit=20):
    return list(
        PointsEntry.objects.filter(account__member=member)
        .select_related("store", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


def open_lots(member):
    return list(
        PointsLot.objects.filter(account__member=member, remaining__gt=0).order_by(
            F("expires_at").asc(nulls_last=True), "id"
        )
    )


def till_summary_sql():
    """The points part of the till's view of a member (sales.selectors.member_summary), as a
    LATERAL subquery over `m.id` and `%(now)s`: the balance, and the five lots that expire
    soonest as two arrays in the same order (points, expiry)."""
    remaining, expires = column(PointsLot, "remaining"), column(PointsLot, "expires_at")
    arrays = parallel_arrays(
        [f"x.{remaining}", f"x.{expires}"], ["lot_points", "lot_expires"], f"x.{expires}, x.id"
    )
    return (
        f"""LEFT JOIN LATERAL (
            SELECT a.{column(PointsAccount, "balance")} AS points_balance,
                   soonest.lot_points, soonest.lot_expires
            FROM {table(PointsAccount)} a
            CROSS JOIN LATERAL (
                SELECT {arrays}
                FROM (SELECT l.id, l.{remaining}, l.{expires} FROM {table(PointsLot)} l
                      WHERE l.{column(PointsLot, "account")} = a.id AND l.{remaining} > 0
                        AND l.{expires} > %(now)s
                      ORDER BY l.{expires}, l.id LIMIT 5) x
            ) soonest
            WHERE a.{column(PointsAccount, "member")} = m.id
        ) points ON true""",
        ["points_balance", "lot_points", "lot_expires"],
    )
