"""Reusable reads of sales, and the till's view of a member (it reads every ledger, so it lives
in the app that orchestrates the checkout)."""

from decimal import Decimal

from django.db import connection
from django.utils import timezone

from countcards import selectors as countcard_selectors
from coupons import selectors as coupon_selectors
from loyalty import selectors as loyalty_selectors
from members import selectors as member_selectors
from wallet import selectors as wallet_selectors

from .models import Sale


def _till_summary_sql():
    """One SELECT for everything the till shows of a member beyond the member row: each app
    contributes a LATERAL subquery over its own tables (the lookup runs on every member a till
    names, so one round trip and no ORM compilation: see docs/benchmarks.md)."""
    fragments = [
        member_selectors.till_summary_sql(),
        loyalty_selectors.till_summary_sql(),
        wallet_selectors.till_summary_sql(),
        coupon_selectors.till_summary_sql(),
        countcard_selectors.till_summary_sql(),
    ]
    names = [name for _sql, columns in fragments for name in columns]
    sql = (
        f"SELECT {', '.join(names)} FROM (SELECT %(member)s::bigint AS id) m "
        + " ".join(sql for sql, _columns in fragments)
    )
    return sql, names


_TILL_SUMMARY = None


def _rows(arrays, keys):
    """Parallel arrays (one per key, NULL when empty) as a list of dicts."""
    if arrays[0] is None:
        return []
    return [dict(zip(keys, values, strict=True)) for values in zip(*arrays, strict=True)]


def member_summary(member, *, full_phone=False):
    """What a till shows for a member (API.md lookup shape). The phone is masked."""
    global _TILL_SUMMARY
    if _TILL_SUMMARY is None:
        _TILL_SUMMARY = _till_summary_sql()
    sql, names = _TILL_SUMMARY
    with connection.cursor() as cursor:
        cursor.execute(sql, {"member": member.pk, "now": timezone.now()})
        row = dict(zip(names, cursor.fetchone(), strict=True))
    coupon_keys = coupon_selectors.TILL_COUPON_KEYS
    card_keys = countcard_selectors.TILL_COUNT_CARD_KEYS
    cards = _rows([row[f"card_{key}"] for key in card_keys], card_keys)
    lots = zip(row["lot_points"] or [], row["lot_expires"] or [], strict=True)
    tier = member.tier
    return {
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone if full_phone else member.masked_phone,
        "tier": {"code": tier.code, "name": tier.name} if tier else None,
        "points": row["points_balance"] or 0,
        # Times stay datetimes: the serializer writes every one of them in Shanghai time.
        "points_expiring": [{"points": p, "expires_at": at} for p, at in lots],
        "stored_value": str(row["stored_value"] or Decimal("0.00")),
        "coupons": _rows([row[f"coupon_{key}"] for key in coupon_keys], coupon_keys),
        "count_cards": cards,
        "marketing_consent": {"sms": bool(row["consent_sms"]),
                              "wechat": bool(row["consent_wechat"])},  # fmt: skip
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
