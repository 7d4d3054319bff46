"""Rule lookups and the pure arithmetic of earning and redemption (no writes here).

Earning, for one sale:
- amount rules (X points per Y yuan) per line, highest priority first; an exclusive rule stops
  lower-priority amount rules for the lines it covers. Each rule's points are floored over the
  whole sale, then spread over its lines by largest remainder, so lines add up to the total.
- promotion multipliers (member day x2) and the tier multiplier add floor(base x (m - 1)) each;
  an exclusive multiplier stops lower-priority multipliers.
- fixed points per order, highest priority first; an exclusive one stops the rest.
Lines earn on what was paid for them: their amount less their share of the points offset and
coupon discount.
"""

from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from core.money import CENT, ZERO, allocate, allocate_money  # noqa: F401  (used by callers)
from loyalty import rulebook
from loyalty.models import EarningRule, EarningRuleMember


def earning_rules_for(*, store, tier, at, book=None, member_id=None):
    """Active earning rules for this store, tier and day (weekday and hours checked later).
    A targeted rule (a campaign's promotion) counts only for a member listed for it on this
    day: one indexed query, made only while such a rule is in force."""
    rules = (book or rulebook.get()).earning_rules(store=store, tier=tier, at=at)
    targeted = [rule.pk for rule in rules if rule.targeted]
    if not targeted:
        return rules
    listed = set()
    if member_id is not None:
        day = timezone.localtime(at).date()
        listed = set(
            EarningRuleMember.objects.filter(
                member_id=member_id, rule_id__in=targeted, starts_on__lte=day, ends_on__gte=day
            ).values_list("rule_id", flat=True)
        )
    return [rule for rule in rules if not rule.targeted or rule.pk in listed]


def redemption_rule_for(*, store, at, book=None):
    """The redemption rule in force for this store now (highest priority), or None."""
    return (book or rulebook.get()).redemption_rule(store=store, at=at)


def expiry_policy_for(at, book=None):
    return (book or rulebook.get()).expiry_policy(at)


def expires_at_for(at, policy=...):
    """When points earned at `at` expire under the policy in force then (None: never)."""
    if policy is ...:
        policy = expiry_policy_for(at)
    return policy.expires_at(at) if policy else None


def _floor(value):
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def compute_earning(*, rules, tier, lines, at):
    """Points each line earns and the breakdown, from `lines` [{category, basis}].

    Returns (per-line points, per-line {rule: points}, breakdown list).
    """
    local = timezone.localtime(at)
    count = len(lines)
    basis_total = sum((line["basis"] for line in lines), ZERO)
    rules = [
        r for r in rules if r.applies_at(local) and basis_total >= (r.min_order_amount or ZERO)
    ]
    per_line = [0] * count
    detail = [{} for _ in range(count)]
    breakdown = []

    def add(label, name, kind, shares, extra=None):
        total = sum(shares)
        if not total:
            return
        for i, share in enumerate(shares):
            if share:
                per_line[i] += share
                detail[i][label] = detail[i].get(label, 0) + share
        breakdown.append(
            {"rule": label, "name": name, "kind": kind, "points": total, **(extra or {})}
        )

    # Amount rules: which rules each line gets, stopping at an exclusive one.
    amount_rules = [r for r in rules if r.kind == EarningRule.Kind.PER_AMOUNT]
    raw = {r.pk: [ZERO] * count for r in amount_rules}
    for i, line in enumerate(lines):
        for rule in amount_rules:
            if not rule.covers(line["category"]):
                continue
            raw[rule.pk][i] = line["basis"] * rule.points / rule.per_amount
            if rule.exclusive:
                break
    base = [0] * count
    for rule in amount_rules:
        shares = allocate(_floor(sum(raw[rule.pk], ZERO)), raw[rule.pk])
        base = [b + s for b, s in zip(base, shares, strict=True)]
        add(
            f"rule:{rule.pk}",
            rule.name,
            rule.kind,
            shares,
            {"points_per": rule.points, "per_amount": str(rule.per_amount)},
        )
    base_total = sum(base)

    multipliers = []
    for rule in (r for r in rules if r.kind == EarningRule.Kind.MULTIPLIER):
        multipliers.append((f"rule:{rule.pk}", rule.name, rule.multiplier))
        if rule.exclusive:
            break
    if tier is not None and tier.points_multiplier != 1:
        multipliers.append((f"tier:{tier.code}", tier.name, tier.points_multiplier))
    for label, name, factor in multipliers:
        extra = _floor(Decimal(base_total) * (factor - 1))
        if extra > 0:
            add(label, name, "multiplier", allocate(extra, base), {"multiplier": str(factor)})

    for rule in (r for r in rules if r.kind == EarningRule.Kind.FIXED):
        add(
            f"rule:{rule.pk}",
            rule.name,
            rule.kind,
            allocate(rule.points, [ln["basis"] for ln in lines]),
        )
        if rule.exclusive:
            break
    return per_line, detail, breakdown


def redemption_limits(*, rule, lines, total, available):
    """(max points, eligible amount) a basket allows under `rule` with `available` points."""
    if rule is None or total < rule.min_order_amount:
        return 0, ZERO
    eligible = sum((ln["amount"] for ln in lines if not rule.excludes(ln["category"])), ZERO)
    max_offset = (eligible * rule.max_share_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    max_points = min(_floor(max_offset * rule.points_per_yuan), max(available, 0))
    max_points -= max_points % rule.step
    if max_points < max(rule.min_points, 1):
        return 0, eligible
    return max_points, eligible


def offset_for(points, rule):
    """The yuan `points` pay for under `rule`, rounded down to the cent."""
    if not points:
        return ZERO
    return (Decimal(points) / rule.points_per_yuan).quantize(CENT, rounding=ROUND_DOWN)
