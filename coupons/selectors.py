"""Reusable reads of coupons: what a member holds, what a basket's codes are."""

from django.db.models import Q
from django.utils import timezone

from core.sql import column, parallel_arrays, table

from . import codes as coupon_codes
from .models import Coupon, CouponTemplate, CouponTemplateVersion


def _with_store_ids(coupons):
    """Give each listed-stores version its store ids (one query for all of them)."""
    versions = {
        c.version_id: c.version
        for c in coupons
        if c.version.stores == CouponTemplateVersion.Stores.LISTED
    }
    for version in versions.values():
        version.store_ids = set()
    if versions:
        through = CouponTemplateVersion.store_list.through
        for version_id, store_id in through.objects.filter(
            coupontemplateversion_id__in=list(versions)
        ).values_list("coupontemplateversion_id", "store_id"):
            versions[version_id].store_ids.add(store_id)
    return coupons


# What the till's lookup shows of each coupon a member holds (API.md), in this order.
TILL_COUPON_KEYS = ("code", "name", "kind", "face_value", "threshold", "valid_from", "expires_at")


def till_summary_sql():
    """The coupons part of the till's view of a member (sales.selectors.member_summary), as a
    LATERAL subquery over `m.id` and `%(now)s`: one array per key of TILL_COUPON_KEYS, the
    coupons usable now or later, soonest to expire first."""
    C, T, V = Coupon, CouponTemplate, CouponTemplateVersion
    until = f"c.{column(C, 'valid_until')}"
    parts = [
        f"c.{column(C, 'code')}",
        f"t.{column(T, 'name')}",
        f"v.{column(V, 'kind')}",
        f"v.{column(V, 'face_value')}",
        f"v.{column(V, 'threshold')}",
        f"c.{column(C, 'valid_from')}",
        until,
    ]
    names = [f"coupon_{key}" for key in TILL_COUPON_KEYS]
    arrays = parallel_arrays(parts, names, order=f"{until}, c.id")
    return (
        f"""CROSS JOIN LATERAL (
            SELECT {arrays}
            FROM {table(C)} c
            JOIN {table(T)} t ON t.id = c.{column(C, "template")}
            JOIN {table(V)} v ON v.id = c.{column(C, "version")}
            WHERE c.{column(C, "owner")} = m.id AND c.{column(C, "status")} = '{C.Status.AVAILABLE}'
              AND {until} > %(now)s - interval '1 second'
        ) coupons""",
        names,
    )


def for_basket(member, asked, *, at=None, mine=True):
    """(the member's coupons, the coupons of the codes asked for, the codes as asked): one
    query for both. A code that cannot be a coupon code is not looked up at all. With
    mine=False (a sale: it uses only what it asks for) the member's other coupons are not read
    and the first item is empty."""
    at = at or timezone.now()
    asked = [str(code).strip() for code in asked]
    lookup = [coupon_codes.normalize(code) for code in asked if coupon_codes.check_printed(code)]
    condition = Q(code__in=lookup)
    if member is not None and mine:
        condition |= Q(
            owner=member,
            status=Coupon.Status.AVAILABLE,
            valid_until__gt=at - timezone.timedelta(seconds=1),
        )
    found = list(
        Coupon.objects.filter(condition)
        .select_related("template", "version")
        .order_by("valid_until", "pk")
    )
    _with_store_ids(found)
    held = [c for c in found if mine and member is not None and c.owner_id == member.pk
            and c.status == Coupon.Status.AVAILABLE]  # fmt: skip
    return held, [c for c in found if c.code in lookup], asked


def template_count_differences():
    """Templates whose issued count is not the number of their coupons (available + used +
    expired + voided): [(template, issued, counted)]."""
    from django.db.models import Count

    from .models import CouponTemplate

    counted = dict(
        Coupon.objects.values("template").annotate(n=Count("id")).values_list("template", "n")
    )
    return [
        (t, t.issued, counted.get(t.pk, 0))
        for t in CouponTemplate.objects.order_by("pk")
        if t.issued != counted.get(t.pk, 0)
    ]


def holding_differences():
    """(template id, member id, held, counted) where a member's holding is not the number of
    their coupons of that template that are not voided."""
    from django.db import connection

    from .models import CouponHolding

    holding, coupon = CouponHolding._meta.db_table, Coupon._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT h.template_id, h.member_id, h.held, COALESCE(c.n, 0) FROM {holding} h "
            f"LEFT JOIN (SELECT template_id, owner_id, count(*) AS n FROM {coupon} "
            "WHERE status <> %s AND owner_id IS NOT NULL GROUP BY template_id, owner_id) c "
            "ON c.template_id = h.template_id AND c.owner_id = h.member_id "
            "WHERE h.held <> COALESCE(c.n, 0)",
            [Coupon.Status.VOIDED],
        )
        return cursor.fetchall()


# The status each event leaves a coupon in.
STATUS_AFTER = {
    "issued": Coupon.Status.AVAILABLE,
    "used": Coupon.Status.USED,
    "returned": Coupon.Status.AVAILABLE,
    "refunded": Coupon.Status.USED,
    "expired": Coupon.Status.EXPIRED,
    "voided": Coupon.Status.VOIDED,
}


def event_differences():
    """(code, status, last event) of coupons whose status is not what their last event left."""
    from django.db import connection

    from .models import CouponEvent

    coupon, event = Coupon._meta.db_table, CouponEvent._meta.db_table
    expected = " ".join(f"WHEN '{kind}' THEN '{status}'" for kind, status in STATUS_AFTER.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.code, c.status, e.kind FROM {coupon} c LEFT JOIN LATERAL "
            f"(SELECT kind FROM {event} WHERE coupon_id = c.id ORDER BY id DESC LIMIT 1) e "
            f"ON true WHERE e.kind IS NULL OR c.status <> CASE e.kind {expected} END"
        )
        return cursor.fetchall()
