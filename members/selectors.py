"""Reusable reads of members and their stored value."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from .models import Wallet, WalletEntry


def _entries_sum(field):
    return Coalesce(
        Subquery(
            WalletEntry.objects.filter(wallet=OuterRef("pk"))
            .order_by()
            .values("wallet")
            # Round: SQLite sums decimals as floats (57.27000000000001); exact on PostgreSQL.
            .annotate(total=Round(Sum(field), 2))
            .values("total"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        Value(Decimal("0.00")),
    )


def wallet_ledger_differences():
    """Wallets whose principal or bonus disagrees with the sum of their entries."""
    return (
        Wallet.objects.annotate(
            principal_total=_entries_sum("principal"), bonus_total=_entries_sum("bonus")
        )
        .filter(~Q(principal=F("principal_total")) | ~Q(bonus=F("bonus_total")))
        .select_related("member")
        .order_by("member_id")
    )


def count_card_ledger_differences():
    """Count cards whose visits left disagree with the sum of their entries."""
    from .models import CountCardEntry, MemberCountCard

    total = Coalesce(
        Subquery(
            CountCardEntry.objects.filter(card=OuterRef("pk"))
            .order_by()
            .values("card")
            .annotate(total=Sum("visits"))
            .values("total")
        ),
        Value(0),
    )
    return (
        MemberCountCard.objects.annotate(visits_total=total)
        .filter(~Q(visits_left=F("visits_total")))
        .select_related("member", "package")
        .order_by("pk")
    )


def member_summary(member, *, full_phone=False):
    """What a till shows for a member (API.md lookup shape). The phone is masked."""
    from django.utils import timezone

    from loyalty.models import PointsAccount, PointsLot

    from .models import Wallet as _Wallet

    account = PointsAccount.objects.filter(member=member).only("id", "balance").first()
    wallet = _Wallet.objects.filter(member=member).only("principal", "bonus").first()
    expiring = []
    if account is not None:
        lots = (
            PointsLot.objects.filter(
                account=account,
                remaining__gt=0,
                expires_at__isnull=False,
                expires_at__gt=timezone.now(),
            )
            .order_by("expires_at")
            .values_list("remaining", "expires_at")[:5]
        )
        expiring = [{"points": points, "expires_at": at.isoformat()} for points, at in lots]
    tier = member.tier
    return {
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone if full_phone else member.masked_phone,
        "tier": {"code": tier.code, "name": tier.name} if tier else None,
        "points": account.balance if account else 0,
        "points_expiring": expiring,
        "stored_value": str(wallet.balance if wallet else Decimal("0.00")),
        "coupons": [],  # filled in by campaigns once coupons land
        "count_cards": usable_count_cards(member),
        "status": member.status,
    }


def usable_count_cards(member, *, at=None):
    """The member's count cards with visits left and not expired, soonest to expire first."""
    from django.utils import timezone

    from .models import MemberCountCard

    cards = (
        MemberCountCard.objects.filter(
            member=member, visits_left__gt=0, expires_at__gt=at or timezone.now()
        )
        .select_related("package")
        .order_by("expires_at", "pk")
    )
    return [
        {
            "id": card.pk,
            "package": card.package.code,
            "name": card.package.name,
            "visits_left": card.visits_left,
            "expires_at": card.expires_at.isoformat(),
        }
        for card in cards
    ]


def count_card_of(member, card_id):
    """The member's count card with this id (CountCardNotFound if it is someone else's)."""
    from .exceptions import CountCardNotFound
    from .models import MemberCountCard

    card = MemberCountCard.objects.select_related("package").filter(pk=card_id, member=member)
    found = card.first()
    if found is None:
        raise CountCardNotFound()
    return found


def members_for_list():
    """Members with everything the admin list shows, in one query (no N+1)."""
    from .models import Card, Member

    active_card = Card.objects.filter(member=OuterRef("pk"), status=Card.Status.ACTIVE).values(
        "card_no"
    )[:1]
    return Member.objects.select_related("home_store", "tier", "points_account", "wallet").annotate(
        card_no=Subquery(active_card)
    )
