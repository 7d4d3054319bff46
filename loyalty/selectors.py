"""Reusable reads of the points ledger."""

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

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
