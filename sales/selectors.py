"""Reusable reads of sales, and the till's view of a member (it reads every ledger, so it lives
in the app that orchestrates the checkout)."""

from django.utils import timezone

from countcards.selectors import usable_count_cards
from coupons.selectors import held_summaries
from loyalty.models import PointsAccount, PointsLot
from wallet.selectors import stored_value_of

from .models import Sale


def member_summary(member, *, full_phone=False):
    """What a till shows for a member (API.md lookup shape). The phone is masked."""
    account = PointsAccount.objects.filter(member=member).only("id", "balance").first()
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
        "stored_value": str(stored_value_of(member.pk)),
        "coupons": held_summaries(member),
        "count_cards": usable_count_cards(member),
        "status": member.status,
    }


def sale_of(store, receipt_no):
    """This store's sale with that receipt number (with member and tiers), or None."""
    return (
        Sale.objects.select_related("member__tier", "tier_after")
        .filter(store=store, receipt_no=receipt_no)
        .first()
    )


def used_coupons_without_a_sale():
    """Codes of coupons marked used that no sale records as used (check_ledgers)."""
    from coupons.models import Coupon

    from .models import SaleCoupon

    return list(
        Coupon.objects.filter(status=Coupon.Status.USED)
        .exclude(pk__in=SaleCoupon.objects.values("coupon_id"))
        .values_list("code", flat=True)
    )
