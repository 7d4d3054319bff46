"""Coupon services: every issue, exchange, void and expiry goes through here and ends in
coupons.ledger (the only writer of coupons). Checkouts and refunds use coupons through
sales.services, which calls `coupons.ledger.add_take` / `give_back`."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO
from loyalty.ledger import post_points_entry
from loyalty.models import PointsEntry
from members.models import Member

from . import ledger
from . import terms as coupon_terms
from .exceptions import CouponNotAvailable, DuplicateExchange, InvalidCouponTemplate
from .models import Coupon, CouponTemplate, CouponTemplateVersion

Version = CouponTemplateVersion
CHUNK = 5000


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time()))


def _end_of(day):
    """The last second of a Shanghai day: a coupon works through 23:59:59."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def validity_for(version, at):
    """(valid_from, valid_until) of a coupon of `version` issued at `at`; CouponNotAvailable if
    it would end before it starts (its hard end or fixed dates are past)."""
    if version.validity == Version.Validity.FIXED:
        start = _start_of(version.valid_from) if version.valid_from else at
        end = (
            _end_of(version.valid_until)
            if version.valid_until
            else _end_of(timezone.localdate(at) + timedelta(days=version.valid_days - 1))
        )
    else:
        first_day = timezone.localdate(at) + timedelta(days=version.starts_after_days)
        start = at if version.starts_after_days == 0 else _start_of(first_day)
        end = _end_of(first_day + timedelta(days=version.valid_days - 1))
    if version.hard_end:
        end = min(end, _end_of(version.hard_end))
    if end < max(start, at):
        raise CouponNotAvailable(_("This coupon can no longer be issued: its dates are past."))
    return start, end


def _issuable(template, at):
    if not template.is_active or template.current_version is None:
        raise CouponNotAvailable(_("This coupon template is not active."))
    if template.claim_from and at < template.claim_from:
        raise CouponNotAvailable(_("This coupon cannot be issued yet."))
    if template.claim_until and at > template.claim_until:
        raise CouponNotAvailable(_("This coupon can no longer be issued."))
    return template.current_version


@dataclass
class IssueResult:
    issued: int = 0
    refused_limit: int = 0
    refused_total: int = 0
    codes: list = field(default_factory=list)


def issue_coupons(
    *,
    template,
    members,
    occasion,
    source,
    actor=None,
    store=None,
    reference="",
    at=None,
    chunk_size=CHUNK,
    progress=None,
    keep_codes=False,
):
    """Issue one coupon of `template` to each member of `members` (a queryset, or member ids)
    for `occasion` (e.g. "manual:<token>", "registration", "birthday:2026", "campaign:12"):
    once per (template, member, occasion), so a rerun issues nothing twice; never past the
    template's total or a member's limit, however many issuers run at once. Set-based, one
    transaction per chunk of members; `progress(done)` after each chunk. Returns IssueResult
    (with the new codes when `keep_codes`: a million would not fit in memory for nothing)."""
    at = at or timezone.now()
    version = _issuable(template, at)
    valid_from, valid_until = validity_for(version, at)
    result = IssueResult()
    if hasattr(members, "values_list"):
        chunks = _id_chunks(members, chunk_size)
    else:
        ids = sorted({getattr(m, "pk", m) for m in members})
        chunks = (ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size))
    done = 0
    for chunk in chunks:
        issued = ledger.issue_to_members(
            template=template,
            version=version,
            member_ids=chunk,
            occasion=occasion,
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            actor=actor,
            store=store,
            reference=reference or occasion,
            at=at,
        )
        result.issued += len(issued.coupons)
        result.refused_limit += issued.refused_limit
        result.refused_total += issued.refused_total
        if keep_codes:
            result.codes.extend(code for _id, code, _owner in issued.coupons)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return result


def _id_chunks(queryset, size):
    last = 0
    ids = queryset.order_by("pk").values_list("pk", flat=True)
    while True:
        chunk = list(ids.filter(pk__gt=last)[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


@transaction.atomic
def issue_coupon(*, template, member, occasion, source, actor=None, store=None, at=None):
    """One coupon for one member (by hand, an exchange, a job). Returns the Coupon; raises
    CouponNotAvailable when the member's limit or the template's total is reached. The same
    occasion again returns the coupon it issued."""
    key = f"{template.pk}:{member.pk}:{occasion}"
    result = issue_coupons(
        template=template,
        members=[member.pk],
        occasion=occasion,
        source=source,
        actor=actor,
        store=store,
        at=at,
    )
    coupon = Coupon.objects.filter(issue_key=key).select_related("template").first()
    if coupon is None:
        if result.refused_total:
            raise CouponNotAvailable(_("None of this coupon is left."))
        raise CouponNotAvailable(_("The member holds as many of this coupon as one may."))
    return coupon


@transaction.atomic
def print_coupons(*, template, count, run, source, actor=None, at=None):
    """A print run of `count` coupons with no owner (each code carries a check character);
    fewer if the template's total runs out. Returns the codes."""
    at = at or timezone.now()
    if not isinstance(count, int) or not 1 <= count <= 100_000:
        raise InvalidCouponTemplate(fields={"count": [_("Between 1 and 100,000 coupons.")]})
    earlier = printed_codes(template=template, run=run)
    if earlier:
        return earlier  # the same form sent twice: the first run's codes
    version = _issuable(template, at)
    valid_from, valid_until = validity_for(version, at)
    return ledger.issue_printed(
        template=template,
        version=version,
        count=count,
        occasion=f"print:{run}",
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
        actor=actor,
        at=at,
    )


def printed_codes(*, template, run):
    """The codes of one print run, in print order."""
    prefix = f"{template.pk}:printed:print:{run}:"
    found = Coupon.objects.filter(template=template, issue_key__startswith=prefix)
    rows = sorted(found.values_list("issue_key", "code"), key=lambda r: int(r[0].rsplit(":", 1)[1]))
    return [code for _key, code in rows]


# --- points for coupons (积分兑换优惠券) --------------------------------------------------------


def exchangeable_templates(*, store=None, at=None):
    """Templates members may take for points now (in `store`: those whose coupons work
    there), cheapest first."""
    at = at or timezone.now()
    found = (
        CouponTemplate.objects.filter(
            is_active=True, exchange_points__isnull=False, current_version__isnull=False
        )
        .select_related("current_version")
        .prefetch_related("current_version__store_list")
    )
    return [
        t
        for t in found.order_by("exchange_points", "code")
        if (t.claim_from is None or t.claim_from <= at)
        and (t.claim_until is None or t.claim_until >= at)
        and (t.left is None or t.left > 0)
        and (store is None or works_in(t.current_version, store))
    ]


def works_in(version, store):
    """Whether coupons of `version` may be used in `store`."""
    if version.stores == Version.Stores.LISTED:
        return store in version.store_list.all()
    return version.stores == Version.Stores.ALL or version.stores == store.kind


@transaction.atomic
def exchange_points_for_coupon(
    *, member, template, exchange_no, store, source, terminal=None, actor=None, at=None
):
    """Take a coupon of `template` for its points: the points leave through the points ledger
    (never overdrawn: InsufficientPoints) and the coupon is issued in the same transaction
    (never past the total or the member's limit: CouponNotAvailable). `exchange_no` is unique
    per store for ever: the same number for the same member and template returns the first
    exchange (replayed), otherwise DuplicateExchange. Returns (coupon, points entry, replayed).
    """
    at = at or timezone.now()
    occasion = f"exchange:{store.pk}:{exchange_no}"
    points_key = f"coupon-exchange:{store.pk}:{exchange_no}"
    earlier = Coupon.objects.filter(points_entry__key=points_key).select_related("template")
    earlier = earlier.first()
    if earlier is not None:
        if earlier.owner_id != member.pk or earlier.template_id != template.pk:
            raise DuplicateExchange()
        return earlier, earlier.points_entry, True
    if template.exchange_points is None or not template.is_active:
        raise CouponNotAvailable(_("This coupon is not offered for points."))
    version = _issuable(template, at)
    valid_from, valid_until = validity_for(version, at)
    # The account lock first (as every points write), then the holding and the template.
    entry = post_points_entry(
        member=member,
        points=-template.exchange_points,
        kind=PointsEntry.Kind.COUPON,
        source=source,
        actor=actor,
        store=store,
        terminal=terminal,
        reason=template.name,
        reference=exchange_no,
        key=points_key,
        at=at,
    )
    # Looked for again under the account lock: a till that sent the same number at the same
    # moment may have just committed it (the points entry above is then that one's).
    earlier = Coupon.objects.filter(points_entry=entry).select_related("template").first()
    if earlier is not None:
        if earlier.owner_id != member.pk or earlier.template_id != template.pk:
            raise DuplicateExchange()
        return earlier, entry, True
    issued = ledger.issue_to_members(
        template=template,
        version=version,
        member_ids=[member.pk],
        occasion=occasion,
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
        actor=actor,
        store=store,
        reference=exchange_no,
        at=at,
        points_entry=entry,
    )
    if not issued.coupons:
        # Rolls the points back with it (one transaction).
        if issued.refused_total:
            raise CouponNotAvailable(_("None of this coupon is left."))
        raise CouponNotAvailable(_("The member holds as many of this coupon as one may."))
    coupon = Coupon.objects.select_related("template").get(pk=issued.coupons[0][0])
    return coupon, entry, False


@transaction.atomic
def void_coupon(*, coupon, reason, source, actor=None):
    """Void an unused coupon. One the member took for points gives those points back, openly
    (a reversal of the exchange, to the lots it took them from). Returns whether voided."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidCouponTemplate(fields={"reason": [_("A reason is required.")]})
    if not ledger.void(coupon=coupon, reason=reason, source=source, actor=actor):
        return False
    if coupon.points_entry_id:
        paid = coupon.points_entry
        post_points_entry(
            member=Member(pk=coupon.owner_id),
            points=-paid.points,
            kind=PointsEntry.Kind.REDEEM_REVERSAL,
            source=source,
            actor=actor,
            reason=reason[:200],
            reference=coupon.code,
            key=f"coupon-void:{coupon.pk}",
            reverses=paid,
        )
    return True


def expire_coupons(*, as_of=None, source, actor=None):
    """Nightly: mark coupons past their last second expired (validity is checked at use
    anyway). Chunked and idempotent. Returns how many."""
    return ledger.expire(as_of=as_of, source=source, actor=actor)


# --- issued on their own: registration, birthday, first purchase --------------------------


def issue_on_registration(*, member, opening, source, actor=None):
    """`members.hooks.member_opened`: the registration coupons of the templates that say so."""
    for template in CouponTemplate.objects.filter(on_registration=True, is_active=True):
        try:
            issue_coupon(
                template=template,
                member=member,
                occasion="registration",
                source=source,
                actor=actor,
                store=opening.store,
            )
        except CouponNotAvailable:
            continue  # none left or past its dates: the card still opens


def issue_first_purchase_coupons(*, member_id, source, store=None, actor=None):
    """After a member's first purchase (sales calls it once the sale is committed): the
    first-purchase coupons of the templates that say so, once per member. Returns how many."""
    issued = 0
    templates = CouponTemplate.objects.filter(
        on_first_purchase=True, is_active=True, current_version__isnull=False
    )
    for template in templates:
        try:
            issued += issue_coupons(
                template=template,
                members=[member_id],
                occasion="first_purchase",
                source=source,
                actor=actor,
                store=store,
            ).issued
        except CouponNotAvailable:
            continue  # past its dates: nothing to issue
    return issued


def issue_automatic_coupons(*, on=None, source, actor=None) -> int:
    """Daily, idempotent: birthday coupons for today's birthdays (once a year); first-purchase
    coupons a checkout missed (members opened in the last 30 days who have bought since, seen
    in the last two days); registration coupons members opened without (an import, a template
    switched on later; within 30 days). Returns how many were issued."""
    on = on or timezone.localdate()
    at = timezone.now()
    issued = 0
    active = CouponTemplate.objects.filter(is_active=True, current_version__isnull=False)
    for template in active.filter(on_birthday=True):
        members = Member.objects.filter(
            status=Member.Status.ACTIVE, birthday__month=on.month, birthday__day=on.day
        )
        issued += _quietly(template, members, f"birthday:{on.year}", source, actor, at)
    for template in active.filter(on_first_purchase=True):
        members = Member.objects.filter(
            status=Member.Status.ACTIVE,
            opened_at__gte=at - timedelta(days=30),
            last_visit_at__gte=at - timedelta(days=2),
        )
        issued += _quietly(template, members, "first_purchase", source, actor, at)
    for template in active.filter(on_registration=True):
        members = Member.objects.filter(
            status=Member.Status.ACTIVE, opened_at__gte=at - timedelta(days=30)
        )
        issued += _quietly(template, members, "registration", source, actor, at)
    return issued


def _quietly(template, members, occasion, source, actor, at):
    try:
        return issue_coupons(
            template=template, members=members, occasion=occasion, source=source, actor=actor, at=at
        ).issued
    except CouponNotAvailable:
        return 0


# --- templates ----------------------------------------------------------------------------

# The fields of a template's terms (CouponTemplateVersion), besides its listed stores.
TERMS_FIELDS = [
    "kind",
    "face_value",
    "percent_off",
    "cap",
    "free_sku",
    "threshold",
    "scope",
    "categories",
    "skus",
    "excluded_categories",
    "stores",
    "weekdays",
    "hour_from",
    "hour_until",
    "validity",
    "valid_from",
    "valid_until",
    "starts_after_days",
    "valid_days",
    "hard_end",
    "combinable",
    "funding",
    "store_share_percent",
    "refund_policy",
]


@transaction.atomic
def save_coupon_template(*, template, terms, store_ids=(), actor=None):
    """Save a template (its name, quantities, issuing flags) and its terms. Terms that differ
    from the current version make a new version, which becomes the current one; coupons
    already issued keep theirs. Returns the current version."""
    check_terms(terms, store_ids=store_ids)
    template.save()
    current = template.current_version
    if current is not None and _same_terms(current, terms, store_ids):
        return current
    number = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = CouponTemplateVersion.objects.create(
        template=template, number=number + 1, created_by=actor, **terms
    )
    if store_ids:
        version.store_list.set(store_ids)
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


def _same_terms(version, terms, store_ids):
    for name in TERMS_FIELDS:
        field = CouponTemplateVersion._meta.get_field(name)
        value = terms.get(name, field.get_default())
        if field.to_python(value) != getattr(version, name):
            return False
    return set(store_ids) == set(version.store_list.values_list("pk", flat=True))


def check_terms(terms, *, store_ids=()):
    """InvalidCouponTemplate naming each field whose value makes no coupon."""
    kind = terms.get("kind") or Version.Kind.CASH
    errors = {}

    def refuse(field, message):
        errors.setdefault(field, []).append(message)

    if kind == Version.Kind.CASH and not terms.get("face_value"):
        refuse("face_value", _("A cash coupon needs a face value."))
    if kind == Version.Kind.PERCENT and not terms.get("percent_off"):
        refuse("percent_off", _("A percent coupon needs a percentage."))
    if kind == Version.Kind.FREE_ITEM and not terms.get("free_sku"):
        refuse("free_sku", _("A free-item coupon needs the SKU it gives."))
    scope = terms.get("scope") or Version.Scope.ALL
    if scope == Version.Scope.CATEGORIES and not terms.get("categories"):
        refuse("categories", _("Name the categories it works on."))
    if scope == Version.Scope.SKUS and not terms.get("skus"):
        refuse("skus", _("Name the SKUs it works on."))
    if terms.get("stores") == Version.Stores.LISTED and not store_ids:
        refuse("store_list", _("Choose the stores it works in."))
    if terms.get("funding") == Version.Funding.SPLIT and not terms.get("store_share_percent"):
        refuse("store_share_percent", _("A split needs the store's share."))
    weekdays = [d.strip() for d in (terms.get("weekdays") or "").replace("，", ",").split(",")]
    if any(d and d not in {"1", "2", "3", "4", "5", "6", "7"} for d in weekdays):
        refuse("weekdays", _("Weekdays are 1 (Monday) to 7 (Sunday), comma separated."))
    if (
        terms.get("hour_from")
        and terms.get("hour_until")
        and terms["hour_until"] <= terms["hour_from"]
    ):
        refuse("hour_until", _("The end of the hours is not after their start."))
    if terms.get("validity") == Version.Validity.FIXED and not terms.get("valid_until"):
        refuse("valid_until", _("Fixed dates need the last day."))
    if (
        terms.get("valid_from")
        and terms.get("valid_until")
        and terms["valid_until"] < terms["valid_from"]
    ):
        refuse("valid_until", _("The last day is before the first."))
    # The model's own limits (no negative money, at most 100%, at least one day, lengths).
    try:
        CouponTemplateVersion(**{k: v for k, v in terms.items() if k in TERMS_FIELDS}).clean_fields(
            exclude=["template", "number", "created_by", "created_at"]
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                refuse(field, message)
    if errors:
        raise InvalidCouponTemplate(fields=errors)


def save_template_terms(*, template, terms, store_ids=(), actor=None):
    """New terms for an existing template (see save_coupon_template)."""
    return save_coupon_template(template=template, terms=terms, store_ids=store_ids, actor=actor)


def preview_basket(*, template, store, lines, at=None):
    """What a basket would get from a coupon of `template`'s current terms, in `store` at
    `at` (nothing is issued or written). `lines`: [{"sku", "category", "qty", "amount"}].
    Returns {"outcome": terms.Outcome, "lines": [(line, share)], "total", "pays"}."""
    at = at or timezone.now()
    version = template.current_version
    version.store_ids = set(version.store_list.values_list("pk", flat=True))
    # A stand-in with what the terms read of a coupon: nothing is issued.
    coupon = SimpleNamespace(
        code="PREVIEW",
        template=template,
        version=version,
        owner_id=None,
        status=Coupon.Status.AVAILABLE,
        valid_from=at,
        valid_until=at + timedelta(days=1),
    )
    outcome = coupon_terms.evaluate(coupon, lines=lines, member=None, store=store, at=at)
    shares = outcome.shares or [ZERO] * len(lines)
    total = sum((ln["amount"] for ln in lines), ZERO)
    return {
        "outcome": outcome,
        "reason_label": coupon_terms.REASON_LABELS.get(outcome.reason, ""),
        "lines": [
            ({**line, "pays": line["amount"] - share}, share)
            for line, share in zip(lines, shares, strict=True)
        ],
        "total": total,
        "pays": total - outcome.discount,
    }
