"""What a coupon does to a basket: pure arithmetic on loaded coupons, no queries, no writes.

Order of application (a sale's coupons, in `apply`): item coupons (some categories or SKUs)
first, then order coupons (every item), each in code order; each coupon works on what the lines
still cost after the coupons before it, so two coupons never discount the same yuan twice. A
coupon's discount is spread over the lines it covers by largest remainder, to the cent, so a
refund of a line gives back exactly that line's share.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import CENT, ZERO, allocate_money

from .codes import normalize as normalize_code
from .models import Coupon, CouponTemplateVersion

Version = CouponTemplateVersion

# Reason codes a till gets (API.md), in the order they are checked.
NOT_FOUND = "coupon_not_found"
NOT_OWNED = "coupon_not_owned"
NOT_STARTED = "coupon_not_started"
EXPIRED = "coupon_expired"
USED = "coupon_used"
VOIDED = "coupon_voided"
STORE_NOT_ALLOWED = "coupon_store_not_allowed"
TIME_NOT_ALLOWED = "coupon_time_not_allowed"
THRESHOLD_NOT_MET = "coupon_threshold_not_met"
NO_ELIGIBLE_ITEMS = "coupon_no_eligible_items"
NOT_COMBINABLE = "coupon_not_combinable"

# A printed coupon (no owner) that is unknown, voided or not valid yet answers "not found", so
# codes cannot be probed: a stranger learns only that a code is good, used or expired (and,
# once it is good, why this basket does not qualify).


def codes(text):
    return {part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()}


def is_expired(coupon, at):
    """Valid through the last second of its last day: expired from the next second on."""
    return at >= coupon.valid_until + timedelta(seconds=1)


@dataclass
class Outcome:
    """What one coupon does to a basket."""

    coupon: Coupon | None
    code: str
    reason: str | None = None
    discount: Decimal = ZERO
    shortfall: Decimal | None = None
    shares: list = field(default_factory=list)  # per line of the basket

    @property
    def applicable(self):
        return self.reason is None

    @property
    def name(self):
        return self.coupon.template.name if self.coupon is not None else ""


def eligible(version, line):
    """Whether a line counts for this coupon's scope."""
    category, sku = line["category"], line["sku"]
    if category and category in codes(version.excluded_categories):
        return False
    if version.scope == Version.Scope.CATEGORIES:
        return category in codes(version.categories)
    if version.scope == Version.Scope.SKUS:
        return sku in codes(version.skus)
    return True


def _store_allowed(version, store):
    if version.stores == Version.Stores.ALL:
        return True
    if version.stores == Version.Stores.DIRECT:
        return store.kind == "direct"
    if version.stores == Version.Stores.FRANCHISE:
        return store.kind == "franchise"
    return store.pk in getattr(version, "store_ids", set())


def _time_allowed(version, local):
    days = codes(version.weekdays)
    if days and str(local.isoweekday()) not in days:
        return False
    now = local.time()
    if version.hour_from and now < version.hour_from:
        return False
    return not (version.hour_until and now > version.hour_until)


def static_reason(coupon, *, member, store, at):
    """Why `coupon` cannot be used by `member` in `store` at `at`, whatever the basket; None
    when nothing stands in the way."""
    if coupon is None:
        return NOT_FOUND
    printed = coupon.owner_id is None
    if not printed and (member is None or coupon.owner_id != member.pk):
        return NOT_OWNED
    if coupon.status == Coupon.Status.VOIDED:
        return NOT_FOUND if printed else VOIDED
    if coupon.status == Coupon.Status.USED:
        return USED
    if coupon.status == Coupon.Status.EXPIRED or is_expired(coupon, at):
        return EXPIRED
    if at < coupon.valid_from:
        return NOT_FOUND if printed else NOT_STARTED
    version = coupon.version
    if not _store_allowed(version, store):
        return STORE_NOT_ALLOWED
    if not _time_allowed(version, timezone.localtime(at)):
        return TIME_NOT_ALLOWED
    return None


def _discount(version, lines, remaining):
    """(discount, shares per line, shortfall, reason) of `version` on lines costing
    `remaining` each now."""
    covered = [i for i, ln in enumerate(lines) if eligible(version, ln) and remaining[i] > 0]
    if version.kind == Version.Kind.FREE_ITEM:
        covered = [i for i in covered if lines[i]["sku"] == version.free_sku]
    if not covered:
        return ZERO, [ZERO] * len(lines), None, NO_ELIGIBLE_ITEMS
    base = sum((remaining[i] for i in covered), ZERO)
    if base < version.threshold:
        return ZERO, [ZERO] * len(lines), version.threshold - base, THRESHOLD_NOT_MET
    if version.kind == Version.Kind.CASH:
        amount = min(version.face_value, base)
    elif version.kind == Version.Kind.PERCENT:
        amount = (base * version.percent_off / 100).quantize(CENT, rounding=ROUND_DOWN)
    else:  # one unit of the free SKU
        first = covered[0]
        unit = (lines[first]["amount"] / lines[first]["qty"]).quantize(CENT, rounding=ROUND_DOWN)
        amount = min(unit, remaining[first])
        covered = [first]
    if version.cap is not None and version.kind != Version.Kind.CASH:
        amount = min(amount, version.cap)
    weights = [remaining[i] if i in covered else ZERO for i in range(len(lines))]
    return amount, allocate_money(amount, weights), None, None


def evaluate(coupon, *, lines, member, store, at):
    """What `coupon` alone would do to the basket (for the till's list of coupons)."""
    outcome = Outcome(coupon=coupon, code=coupon.code if coupon else "")
    outcome.reason = static_reason(coupon, member=member, store=store, at=at)
    if outcome.reason is None:
        remaining = [ln["amount"] for ln in lines]
        amount, shares, shortfall, reason = _discount(coupon.version, lines, remaining)
        outcome.discount, outcome.shares, outcome.shortfall = amount, shares, shortfall
        outcome.reason = reason
    return _final(outcome)


def _final(outcome):
    if not outcome.applicable:
        outcome.discount, outcome.shares = ZERO, []
    return outcome


def _order(coupon):
    item_first = 0 if coupon.version.scope != Version.Scope.ALL else 1
    return item_first, coupon.code


def apply(coupons, *, lines, member, store, at, asked=()):
    """The coupons of one sale, applied in order. `coupons`: loaded coupons for the codes the
    till sent; `asked`: every code as sent (matched in capitals, without spaces or dashes;
    those not loaded are unknown). Returns (outcomes in the order the till sent the codes,
    each named as sent, per-line total discount)."""
    by_code = {c.code: c for c in coupons}
    outcomes = {
        code: Outcome(coupon=by_code.get(normalize_code(code)), code=code) for code in asked
    }
    usable = []
    for outcome in outcomes.values():
        outcome.reason = static_reason(outcome.coupon, member=member, store=store, at=at)
        if outcome.reason is None:
            usable.append(outcome)
    per_line = _apply_in_order(usable, lines)
    return [_final(o) for o in outcomes.values()], per_line


def reprice(coupons, *, lines):
    """What the coupons a sale used take off `lines` (what the member keeps after a refund),
    by the very arithmetic that priced the sale (`apply`): same order, thresholds on what the
    lines still cost after the coupons before, caps, combining, the terms of each coupon's own
    version. What does not depend on the basket (owner, status, dates, store, hours) held when
    the sale was made and is not asked again: the coupons are used now. Returns (an outcome per
    coupon, in the order given, per-line total discount)."""
    outcomes = [Outcome(coupon=coupon, code=coupon.code) for coupon in coupons]
    per_line = _apply_in_order(outcomes, lines)
    return [_final(o) for o in outcomes], per_line


def _apply_in_order(usable, lines):
    """Apply the outcomes' coupons (each usable whatever the basket) to `lines` in order: item
    coupons first, then order coupons, each on what the lines still cost. Sets each outcome's
    reason, discount and shares; returns the per-line total discount."""
    remaining = [ln["amount"] for ln in lines]
    applied = []
    for outcome in sorted(usable, key=lambda o: _order(o.coupon)):
        coupon = outcome.coupon
        if any(
            other.coupon.template_id == coupon.template_id
            or not other.coupon.version.combinable
            or not coupon.version.combinable
            for other in applied
        ):
            outcome.reason = NOT_COMBINABLE
            continue
        amount, shares, shortfall, reason = _discount(coupon.version, lines, remaining)
        outcome.shortfall, outcome.reason = shortfall, reason
        if reason is None:
            outcome.discount, outcome.shares = amount, shares
            remaining = [r - s for r, s in zip(remaining, shares, strict=True)]
            applied.append(outcome)
    return [ln["amount"] - r for ln, r in zip(lines, remaining, strict=True)]


# --- for people: what a reason means, what a version does ------------------------------------

REASON_LABELS = {
    NOT_FOUND: _("No such coupon"),
    NOT_OWNED: _("Held by another member"),
    NOT_STARTED: _("Not valid yet"),
    EXPIRED: _("Expired"),
    USED: _("Already used"),
    VOIDED: _("Voided"),
    STORE_NOT_ALLOWED: _("Not valid in this store"),
    TIME_NOT_ALLOWED: _("Not valid at this time"),
    THRESHOLD_NOT_MET: _("Below the threshold"),
    NO_ELIGIBLE_ITEMS: _("No item it applies to"),
    NOT_COMBINABLE: _("Cannot be combined with the other coupons"),
}


def _yuan(amount):
    return f"{amount:,.2f}".rstrip("0").rstrip(".") if amount % 1 == 0 else f"{amount:,.2f}"


def describe(version):
    """One line a marketing manager recognises: 满50减10; 10% off fresh, at most ¥20; ..."""
    if version is None:
        return ""
    parts = []
    if version.kind == Version.Kind.CASH:
        if version.threshold:
            parts.append(
                _("¥%(face)s off from ¥%(threshold)s")
                % {"face": _yuan(version.face_value), "threshold": _yuan(version.threshold)}
            )
        else:
            parts.append(_("¥%(face)s off") % {"face": _yuan(version.face_value)})
    else:
        if version.kind == Version.Kind.PERCENT:
            parts.append(_("%(percent)s%% off") % {"percent": _yuan(version.percent_off)})
        else:
            parts.append(_("one %(sku)s free") % {"sku": version.free_sku})
        if version.threshold:
            parts.append(_("from ¥%(threshold)s") % {"threshold": _yuan(version.threshold)})
        if version.cap is not None:
            parts.append(_("at most ¥%(cap)s") % {"cap": _yuan(version.cap)})
    if version.scope == Version.Scope.CATEGORIES:
        parts.append(_("on %(what)s") % {"what": version.categories})
    elif version.scope == Version.Scope.SKUS:
        parts.append(_("on SKUs %(what)s") % {"what": version.skus})
    if version.excluded_categories:
        parts.append(_("not on %(what)s") % {"what": version.excluded_categories})
    if version.stores != Version.Stores.ALL:
        if version.stores == Version.Stores.LISTED:
            listed = ", ".join(s.code for s in version.store_list.all())
            parts.append(_("only in %(stores)s") % {"stores": listed})
        else:
            parts.append(str(version.get_stores_display()))
    if version.validity == Version.Validity.RELATIVE:
        parts.append(_("%(days)d days from issue") % {"days": version.valid_days})
    elif version.valid_until:
        parts.append(_("until %(day)s") % {"day": version.valid_until.isoformat()})
    if not version.combinable:
        parts.append(_("not combinable"))
    return "; ".join(str(p) for p in parts)
