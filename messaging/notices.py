"""The audiences of the service notices, read from the ledgers of the apps below messaging
(which cannot call up to it): each a (sql, params) selecting member_id, occasion_key, params."""

from datetime import datetime, time, timedelta

from django.db.models import CharField, F, Sum, Value
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils import timezone

from loyalty.models import PointsLot
from members.models import TierChange
from wallet.models import WalletEntry


def _sql(queryset):
    sql, params = queryset.query.sql_with_params()
    return f"SELECT q.member_id, q.occasion_key, q.params FROM ({sql}) q", params


def points_expiring_audience(day):
    """Members with points left in lots expiring on `day` (Shanghai), with how many."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = start + timedelta(days=1)
    lots = (
        PointsLot.objects.filter(remaining__gt=0, expires_at__gte=start, expires_at__lt=end)
        .values(member_id=F("account__member_id"))
        .annotate(
            occasion_key=Value("", output_field=CharField()),
            params=JSONObject(points=Sum("remaining")),
        )
        .values("member_id", "occasion_key", "params")
        .order_by()
    )
    return _sql(lots)


def stored_value_audience(since, until):
    """Each stored-value change (not the opening balance) between `since` and `until`: what
    changed and the balance after."""
    entries = (
        WalletEntry.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(kind=WalletEntry.Kind.OPENING)
        .annotate(
            member_id=F("wallet__member_id"),
            occasion_key=Concat(Value("wallet-entry:"), Cast("pk", CharField())),
            params=JSONObject(
                change=Cast(F("principal") + F("bonus"), CharField()),
                balance=Cast(F("principal_after") + F("bonus_after"), CharField()),
            ),
        )
        .values("member_id", "occasion_key", "params")
        .order_by()
    )
    return _sql(entries)


def tier_upgrade_audience(since, until):
    """Each upgrade (on a sale, or by hand to a higher tier) between `since` and `until`."""
    changes = (
        TierChange.objects.filter(created_at__gte=since, created_at__lt=until)
        .filter(to_tier__rank__gt=F("from_tier__rank"))
        .annotate(
            occasion_key=Concat(Value("tier-change:"), Cast("pk", CharField())),
            params=JSONObject(tier=F("to_tier__name")),
        )
        .values("member_id", "occasion_key", "params")
        .order_by()
    )
    return _sql(changes)
