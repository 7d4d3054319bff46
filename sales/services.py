"""Checkout and refunds: what the till API calls. They orchestrate the apps below: points move
only through loyalty.ledger, stored value through wallet's services, the member's visit and tier
through members' services; this module writes only sales' own tables."""

import functools
import hashlib
import json
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import CENT, ZERO, allocate, allocate_money
from core.sql import Statement, insert_sql, load, lock_clause, select_list
from coupons import ledger as coupon_ledger
from coupons import selectors as coupon_selectors
from coupons import services as coupon_services
from coupons import terms as coupon_terms
from coupons.codes import normalize as normalize_code
from coupons.exceptions import CouponNotUsable
from loyalty import rulebook
from loyalty.exceptions import InsufficientPoints, RedemptionNotAllowed
from loyalty.ledger import add_sale_points, move_tier_progress, open_account, post_points_entry
from loyalty.models import PointsAccount, PointsEntry, PointsLot
from loyalty.services import grant_holiday_bonus, upgrade_for
from loyalty.services.bonuses import (
    days_to_catch_up,
    grant_referral_bonus,
    holiday_bonus_key,
    holiday_rules,
    mark_bonus_day_done,
    members_without,
    referral_due,
    reverse_referral_bonus,
)
from loyalty.services.rules import (
    compute_earning,
    earning_rules_for,
    expires_at_for,
    offset_for,
    redemption_limits,
    redemption_rule_for,
)
from members.models import Member, TierChange
from members.services import add_visit, log_tier_change
from wallet.exceptions import InsufficientStoredValue
from wallet.models import Wallet
from wallet.selectors import stored_value_of
from wallet.services import pay_with_stored_value, refund_stored_value

from .exceptions import DuplicateReceipt, DuplicateRefund, InvalidSale, RefundExceedsSale
from .models import Refund, RefundLine, Sale, SaleCoupon, SaleLine

QTY = Decimal("0.001")


def _money(value, field):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidSale(fields={field: [_("Not an amount.")]}) from None
    return amount


def clean_lines(lines):
    if not lines:
        raise InvalidSale(fields={"lines": [_("A sale needs at least one line.")]})
    cleaned = []
    for i, line in enumerate(lines):
        try:
            qty = Decimal(str(line.get("qty", 1))).quantize(QTY)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidSale(fields={f"lines[{i}].qty": [_("Not a quantity.")]}) from None
        amount = _money(line.get("amount"), f"lines[{i}].amount")
        if qty <= 0 or amount < 0:
            raise InvalidSale(fields={f"lines[{i}]": [_("Quantity and amount must be positive.")]})
        sku = str(line.get("sku") or "").strip()
        if not sku:
            raise InvalidSale(fields={f"lines[{i}].sku": [_("Required.")]})
        cleaned.append(
            {
                "sku": sku,
                "name": str(line.get("name") or "")[:100],
                "category": str(line.get("category") or "").strip(),
                "qty": qty,
                "amount": amount,
            }
        )
    return cleaned


def _fingerprint(**body):
    text = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _plan(
    *, book, store, member, lines, total, redeem_points, account_balance, at, tier, coupons=None
):
    """Everything a sale would do, without writing: coupons first (their per-line discount in
    `coupons`), then the points offset on what the lines still cost, then earning on what is
    left to pay."""
    coupons = coupons or [ZERO] * len(lines)
    lines = [{**ln, "amount": ln["amount"] - c} for ln, c in zip(lines, coupons, strict=True)]
    total = total - sum(coupons, ZERO)
    rule = redemption_rule_for(store=store, at=at, book=book) if redeem_points else None
    if redeem_points:
        if rule is None:
            raise RedemptionNotAllowed(fields={"redeem_points": [_("No redemption here now.")]})
        max_points, _eligible = redemption_limits(
            rule=rule, lines=lines, total=total, available=account_balance
        )
        if redeem_points > account_balance:
            raise InsufficientPoints.of(
                balance=account_balance, wanted=redeem_points, field="redeem_points"
            )
        if redeem_points % rule.step or redeem_points < rule.min_points:
            raise RedemptionNotAllowed(
                fields={
                    "redeem_points": [
                        _("Redeem %(min)s or more, in steps of %(step)s.")
                        % {"min": rule.min_points, "step": rule.step}
                    ]
                }
            )
        if redeem_points > max_points:
            raise RedemptionNotAllowed(
                fields={
                    "redeem_points": [
                        _("At most %(max)s points on this sale.") % {"max": max_points}
                    ]
                }
            )
    offset = offset_for(redeem_points, rule) if rule else ZERO
    eligible_weights = [
        ZERO if rule and rule.excludes(ln["category"]) else ln["amount"] for ln in lines
    ]
    offsets = allocate_money(offset, eligible_weights)
    points_shares = allocate(redeem_points, eligible_weights)
    rules = earning_rules_for(store=store, tier=tier, at=at, book=book, member_id=member.pk)
    basis = [
        {"category": ln["category"], "basis": ln["amount"] - off}
        for ln, off in zip(lines, offsets, strict=True)
    ]
    per_line, detail, breakdown = compute_earning(rules=rules, tier=tier, lines=basis, at=at)
    return {
        "rule": rule,
        "offset": offset,
        "offsets": offsets,
        "points_shares": points_shares,
        "per_line": per_line,
        "detail": detail,
        "breakdown": breakdown,
    }


def evaluate_coupons(*, store, member, lines, coupon_codes=(), at=None):
    """No side effects: what the coupons in `coupon_codes` take off the basket, applied as a
    sale would, and what each coupon the member holds would do on it, with why not.
    Returns (outcomes for the till's list, discount per line of the codes applied)."""
    at = at or timezone.now()
    mine, asked_coupons, asked = coupon_selectors.for_basket(member, coupon_codes, at=at)
    applied, per_line = coupon_terms.apply(
        asked_coupons, lines=lines, member=member, store=store, at=at, asked=asked
    )
    listed = {o.code: o for o in applied}
    asked_codes = {normalize_code(code) for code in listed}
    for coupon in mine:
        if coupon.code not in asked_codes:
            listed[coupon.code] = coupon_terms.evaluate(
                coupon, lines=lines, member=member, store=store, at=at
            )
    return list(listed.values()), per_line


def coupon_answer(outcome):
    """A coupon in the quote's and /coupons/evaluate's list (API.md)."""
    return {
        "code": outcome.code,
        "name": outcome.name,
        "applicable": outcome.applicable,
        "reason": outcome.reason,
        "discount": outcome.discount,
        "shortfall": outcome.shortfall,
    }


def quote_sale(*, store, member, lines, redeem_points=0, coupon_codes=(), at=None) -> dict:
    """No side effects: the points a basket would earn, the most points it may redeem and the
    offset they pay for, the redemption rule's minimum and step, every coupon the member holds
    with whether and why it applies (the codes in `coupon_codes` applied as a sale would), and
    what the cashier would still collect. Raises the same errors `post_sale` would for
    `redeem_points`."""
    at = at or timezone.now()
    lines = clean_lines(lines)
    total = sum((ln["amount"] for ln in lines), ZERO)
    available = (
        PointsLot.objects.filter(account__member=member, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .aggregate(total=Sum("remaining"))["total"]
        or 0
    )
    balance = PointsAccount.objects.filter(member=member).values_list("balance", flat=True)
    available = min(available, balance.first() or 0)
    outcomes, per_line_coupons = evaluate_coupons(
        store=store, member=member, lines=lines, coupon_codes=coupon_codes, at=at
    )
    coupon_discount = sum(per_line_coupons, ZERO)
    net = [
        {**ln, "amount": ln["amount"] - c} for ln, c in zip(lines, per_line_coupons, strict=True)
    ]
    book = rulebook.get()
    rule = redemption_rule_for(store=store, at=at, book=book)
    max_points, _eligible = redemption_limits(
        rule=rule, lines=net, total=total - coupon_discount, available=available
    )
    plan = _plan(
        book=book,
        store=store,
        member=member,
        lines=lines,
        total=total,
        redeem_points=int(redeem_points or 0),
        account_balance=available,
        at=at,
        tier=book.tier(member.tier_id),
        coupons=per_line_coupons,
    )
    return {
        "points_to_earn": sum(plan["per_line"]),
        "max_redeem_points": max_points,
        # A till offers only what the rule takes: at least this many, in these steps.
        "min_redeem_points": max(rule.min_points, rule.step) if rule else 0,
        "redeem_step": rule.step if rule else 0,
        "max_offset_amount": offset_for(max_points, rule) if rule else ZERO,
        "offset_amount": plan["offset"],
        "coupon_discount": coupon_discount,
        "amount_due": total - plan["offset"] - coupon_discount,
        "points_available": available,
        "coupons": [coupon_answer(o) for o in outcomes],
    }


def _lock_accounts(member, with_referrer=None):
    """Lock the member's points account and, while their referral bonus may still be due, their
    referrer's too: in account-id order, as every path that locks points accounts does
    (expiry locks a chunk of accounts in id order), so a first sale cannot deadlock with the
    nightly expiry. Returns (the member's account, whether the referrer's account is locked).

    Whether the referral may be due is read from the member's account in the same statement,
    before the lock: if a concurrent refund has just reset it, the referrer is not locked and
    this sale pays no referral bonus (the next one will).
    """
    table = f'"{PointsAccount._meta.db_table}"'
    if with_referrer and member.referrer_id:
        where, params = "a.member_id IN (%s, %s)", [member.pk, member.referrer_id]
    elif with_referrer is None and member.referrer_id:
        where = (
            "a.member_id = %s OR (a.member_id = %s AND NOT EXISTS (SELECT 1 FROM "
            f"{table} m WHERE m.member_id = %s AND m.referral_paid))"
        )
        params = [member.pk, member.referrer_id, member.pk]
    else:
        where, params = "a.member_id = %s", [member.pk]
    sql = (
        f"SELECT {select_list(PointsAccount, 'a')} FROM {table} a WHERE {where} "
        f"ORDER BY a.id{lock_clause()}"
    )
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            accounts = [load(PointsAccount, row) for row in cursor.fetchall()]
        own = next((a for a in accounts if a.member_id == member.pk), None)
        if own is not None:
            return own, any(a.member_id == member.referrer_id for a in accounts)
        open_account(member)
    raise PointsAccount.DoesNotExist


def _after_lock(member, store, receipt_no):
    """What the checkout decides from, read once the account is locked, in a statement of its
    own: under READ COMMITTED a statement sees what was committed before it started, so this
    one sees the sale, the tier and the stored value another till committed while this one
    waited for the lock (the locking statement's own snapshot is older than the wait).
    Returns (id of the sale with this receipt or None, stored value or None, rule book token,
    the member's tier id)."""
    sql = (
        f'SELECT (SELECT s.id FROM "{Sale._meta.db_table}" s '
        "WHERE s.store_id = %s AND s.receipt_no = %s), "
        f'(SELECT w.principal + w.bonus FROM "{Wallet._meta.db_table}" w WHERE w.member_id = %s), '
        f"{rulebook.TOKEN_SQL}, "
        f'(SELECT m.tier_id FROM "{Member._meta.db_table}" m WHERE m.id = %s)'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, receipt_no, member.pk, member.pk])
        return cursor.fetchone()


def post_sale(**kwargs) -> Sale:
    """Check out a member's sale: redeem points (within the redemption rule), pay stored value,
    earn points by the earning rules on what was paid, upgrade the tier at once if the sale
    crosses a threshold (only from the tier the member has now: an upgrade never overwrites a
    change head office made meanwhile), pay the referral bonus on a referred member's first
    qualifying sale, and record the member's visit.

    Every line keeps its share of points earned, points redeemed, offset, stored value and
    coupon discount, and the sale keeps the breakdown, so refunds reverse exactly and later rule
    changes never rewrite it. The same store + receipt no with the same body returns the first
    Sale (its `replayed` is True); with another body it raises DuplicateReceipt. When another
    transaction commits the same receipt between our check and our insert (two tills, two
    members, one receipt), the unique index refuses ours and the sale is looked at once more.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _post_sale(**kwargs)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _post_sale(
    *,
    store,
    member,
    receipt_no,
    lines,
    total,
    source,
    terminal=None,
    actor=None,
    redeem_points=0,
    coupon_codes=(),
    stored_value_amount=Decimal("0.00"),
    at=None,
) -> Sale:
    at = at or timezone.now()
    receipt_no = str(receipt_no or "").strip()
    if not receipt_no:
        raise InvalidSale(fields={"receipt_no": [_("Required.")]})
    lines = clean_lines(lines)
    total = _money(total, "total")
    if total != sum((ln["amount"] for ln in lines), ZERO):
        raise InvalidSale(fields={"total": [_("The total is not the sum of the lines.")]})
    redeem_points = int(redeem_points or 0)
    if redeem_points < 0:
        raise InvalidSale(fields={"redeem_points": [_("Cannot be negative.")]})
    coupon_codes = [str(code) for code in coupon_codes or ()]
    stored_value_amount = _money(stored_value_amount, "stored_value_amount")
    fingerprint = _fingerprint(
        member=member.pk,
        lines=lines,
        total=total,
        redeem_points=redeem_points,
        coupon_codes=sorted(coupon_codes),
        stored_value_amount=stored_value_amount,
    )

    account, referrer_locked = _lock_accounts(member)
    existing_id, stored_value, token, tier_id = _after_lock(member, store, receipt_no)
    if existing_id is not None:
        existing = Sale.objects.select_related("tier_after").get(pk=existing_id)
        if existing.fingerprint != fingerprint:
            raise DuplicateReceipt()
        existing.replayed = True
        return existing

    book = rulebook.get(token)
    tiers = book.tiers
    # The tier as it is now, under the lock (head office may have changed it since the member
    # was looked up); a member not yet placed in a tier earns as the default tier does.
    member.tier_id = tier_id
    member._state.fields_cache.pop("tier", None)
    placed = next((t for t in tiers if t.pk == tier_id), None)  # None: not placed yet
    tier = book.tier(tier_id)
    coupons, per_line_coupons = _coupons_for_sale(
        store=store, member=member, lines=lines, coupon_codes=coupon_codes, at=at
    )
    coupon_discount = sum(per_line_coupons, ZERO)
    plan = _plan(
        book=book,
        store=store,
        member=member,
        lines=lines,
        total=total,
        redeem_points=redeem_points,
        account_balance=account.balance,
        at=at,
        tier=tier,
        coupons=per_line_coupons,
    )
    # What the member pays (stored value counts as paid): it earns points and tier progress.
    paid_amount = total - plan["offset"] - coupon_discount
    if stored_value_amount < 0 or stored_value_amount > paid_amount:
        raise InvalidSale(fields={"stored_value_amount": [_("More than the amount due.")]})
    paid = [
        ln["amount"] - off - c
        for ln, off, c in zip(lines, plan["offsets"], per_line_coupons, strict=True)
    ]
    stored_shares = allocate_money(stored_value_amount, paid)
    wallet_entry = None
    if stored_value_amount:
        if stored_value is None:  # no wallet yet
            raise InsufficientStoredValue.of(
                balance=ZERO, wanted=stored_value_amount, field="stored_value_amount"
            )
        wallet_entry = _pay_stored_value(
            member, stored_value_amount, source, store, terminal, actor, receipt_no
        )
        stored_value = wallet_entry.principal_after + wallet_entry.bonus_after

    points_earned = sum(plan["per_line"])
    policy = book.expiry_policy(at) if points_earned else None
    expires_at = expires_at_for(at, policy) if points_earned else None
    # Decided before anything is written, from the counters as this sale will leave them, so
    # the sale row is written once with its tier after.
    account.qualifying_spend += paid_amount
    account.qualifying_points += points_earned
    new_tier, why = upgrade_for(
        member=member,
        account=account,
        tiers=tiers,
        at=at,
        pending_spend=paid_amount,
        pending_points=points_earned,
    )
    account.qualifying_spend -= paid_amount
    account.qualifying_points -= points_earned
    referral = (
        referral_due(member=member, account=account, amount=paid_amount, at=at)
        if referrer_locked
        else None
    )
    breakdown = {
        "earning": plan["breakdown"],
        "tier": tier.code if tier else None,
        "redemption": (
            {"rule": plan["rule"].pk, "points_per_yuan": plan["rule"].points_per_yuan}
            if plan["rule"]
            else None
        ),
        "expiry": {
            "policy": policy.pk if policy else None,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    }
    sale = Sale(
        store=store,
        terminal=terminal,
        member=member,
        receipt_no=receipt_no,
        total=total,
        offset_amount=plan["offset"],
        coupon_discount=coupon_discount,
        amount_due=paid_amount,
        stored_value_amount=stored_value_amount,
        points_earned=points_earned,
        points_redeemed=redeem_points,
        breakdown=breakdown,
        tier_before=tier,
        tier_after=new_tier or tier,
        wallet_entry=wallet_entry,
        referral_bonus=referral is not None,
        fingerprint=fingerprint,
        source=source,
        actor=actor,
        created_at=at,
    )
    sale_lines = [
        SaleLine(
            line_no=i + 1,
            sku=ln["sku"],
            name=ln["name"],
            category=ln["category"],
            qty=ln["qty"],
            amount=ln["amount"],
            points_earned=plan["per_line"][i],
            points_redeemed=plan["points_shares"][i],
            offset_amount=plan["offsets"][i],
            stored_value_amount=stored_shares[i],
            coupon_discount=per_line_coupons[i],
            earning=plan["detail"][i],
        )
        for i, ln in enumerate(lines)
    ]
    # One statement writes the points (loyalty's part), the sale and its lines (ours) and the
    # member's visit (members' part).
    statement = Statement()
    points = add_sale_points(
        statement,
        account=account,
        store=store,
        receipt_no=receipt_no,
        redeem=redeem_points,
        earn=points_earned,
        expires_at=expires_at,
        spend=paid_amount,
        source=source,
        actor=actor,
        terminal=terminal,
        at=at,
    )
    sale.redeem_entry, sale.earn_entry = points.redeem_entry, points.earn_entry
    sale.points_after = account.balance + (referral.points if referral else 0)
    sale.stored_value_after = Decimal(stored_value or 0).quantize(CENT)
    sql, values = insert_sql(
        Sale,
        [sale],
        expressions={
            "redeem_entry_id": points.expression(PointsEntry.Kind.REDEEM),
            "earn_entry_id": points.expression(PointsEntry.Kind.EARN),
        },
        returning="id",
    )
    statement.add("new_sale", sql, values)
    sql, values = insert_sql(
        SaleLine, sale_lines, expressions={"sale_id": "(SELECT id FROM new_sale)"}
    )
    statement.add("new_lines", sql, values)
    moved = {}
    upgraded = add_visit(
        statement,
        member_id=member.pk,
        at=at,
        tier_move=(tier_id, new_tier.pk) if new_tier is not None else None,
    )
    taken = {}
    if coupons:
        _add_coupons(statement, sale=sale, coupons=coupons, terminal=terminal, actor=actor)
        statement.select(
            coupon_ledger.add_take(
                statement,
                coupons=[o.coupon for o in coupons],
                discounts={o.coupon.pk: o.discount for o in coupons},
                store=store,
                terminal=terminal,
                reference=f"{store.code}/{receipt_no}",
                source=source,
                actor=actor,
                at=at,
            ),
            lambda value: taken.update(count=value),
        )
    statement.select("(SELECT id FROM new_sale)", _receive_sale_id(sale))
    if upgraded:
        statement.select(upgraded, lambda value: moved.update(tier=value))
    statement.execute()
    if coupons and taken["count"] != len(coupons):
        # Another till's sale took one of them first (its conditional update won): refused
        # whole, nothing of this sale stays.
        raise CouponNotUsable(
            fields={"coupon_codes": [f"{o.code}: {coupon_terms.USED}" for o in coupons]}
        )
    for line in sale_lines:
        line.sale = sale
    if new_tier is not None and moved.get("tier"):
        log_tier_change(
            member=member,
            from_tier=placed,
            to_tier=new_tier,
            reason=TierChange.Reason.UPGRADE,
            detail=why,
            source=source,
            actor=actor,
            reference=f"{store.code}/{receipt_no}",
            at=at,
        )
        member.tier = new_tier
    elif new_tier is not None:
        # Head office moved the member between our read and our write: theirs stands.
        current = Member.objects.filter(pk=member.pk).values_list("tier_id", flat=True).get()
        sale.tier_after_id = current
        Sale.objects.filter(pk=sale.pk).update(tier_after_id=current)
    if member.last_visit_at is None:
        # The member's first purchase: its coupons once this sale is committed (a failure there
        # never fails the sale; the daily job issues what was missed).
        transaction.on_commit(
            functools.partial(
                coupon_services.issue_first_purchase_coupons,
                member_id=member.pk,
                store=store,
                source=source,
                actor=actor,
            ),
            robust=True,
        )
    member.last_visit_at = at
    if referral is not None:
        # Both sides, once, in this transaction: the till prints the balance with the bonus.
        grant_referral_bonus(
            member=member,
            rule=referral,
            occasion=_occasion(sale),
            store=store,
            reference=f"referral:{member.member_no}",
            source=source,
            actor=actor,
            at=at,
        )
    sale.replayed = False
    return sale


def _coupons_for_sale(*, store, member, lines, coupon_codes, at):
    """The coupons the till asked for, applied (coupons.terms), and their discount per line;
    CouponNotUsable naming each code that cannot be used and why."""
    if not coupon_codes:
        return [], [ZERO] * len(lines)
    if len({normalize_code(code) for code in coupon_codes}) != len(coupon_codes):
        raise InvalidSale(fields={"coupon_codes": [_("A coupon code is listed twice.")]})
    _none, asked_coupons, asked = coupon_selectors.for_basket(
        member, coupon_codes, at=at, mine=False
    )
    outcomes, per_line = coupon_terms.apply(
        asked_coupons, lines=lines, member=member, store=store, at=at, asked=asked
    )
    refused = [f"{o.code}: {o.reason}" for o in outcomes if not o.applicable]
    if refused:
        raise CouponNotUsable(fields={"coupon_codes": refused})
    return outcomes, per_line


def _add_coupons(statement, *, sale, coupons, terminal, actor):
    """The sale's record of each coupon it used, with its discount by line number."""
    rows = [
        SaleCoupon(
            coupon=o.coupon,
            discount=o.discount,
            lines={str(i + 1): str(share) for i, share in enumerate(o.shares) if share},
        )
        for o in coupons
    ]
    sql, values = insert_sql(SaleCoupon, rows, expressions={"sale_id": "(SELECT id FROM new_sale)"})
    statement.add("sale_coupons", sql, values)


def _occasion(sale):
    """What names a sale in ledger keys: store and receipt (unique for ever)."""
    return f"{sale.store_id}/{sale.receipt_no}"


def _receive_sale_id(sale):
    def receive(pk):
        sale.pk = pk
        sale._state.adding = False

    return receive


def _pay_stored_value(member, amount, source, store, terminal, actor, receipt_no):
    try:
        return pay_with_stored_value(
            member=member,
            amount=amount,
            source=source,
            store=store,
            terminal=terminal,
            actor=actor,
            reference=receipt_no,
            key=f"sale:{store.pk}:{receipt_no}:sv",
        )
    except InsufficientStoredValue as exc:
        # Named by the sale's own field, the one the till sent.
        fields = {"stored_value_amount": exc.fields.get("stored_value", [])} if exc.fields else {}
        raise InsufficientStoredValue(exc.message, fields=fields) from exc


# --- Refunds ---------------------------------------------------------------------------------


def _share(value, part, whole):
    """floor(value x part / whole) for ints, or rounded down to the cent for money."""
    if isinstance(value, int):
        return int((Decimal(value) * part / whole).to_integral_value(rounding=ROUND_DOWN))
    return (value * part / whole).quantize(CENT, rounding=ROUND_DOWN)


def _cumulative(value, before, after, whole):
    """This refund's part of `value` when the refunded qty goes from `before` to `after`:
    differences of floors, so the last refund gets exactly what is left."""
    return _share(value, after, whole) - _share(value, before, whole)


def refund_sale(**kwargs) -> Refund:
    """Refund some lines (by sku and qty) or everything left of a sale.

    Each refunded line reverses what it earned and returns what it used (redeemed points to
    the very lots they came from, stored value in its principal/bonus split), in proportion to
    quantity within the line, so two partial refunds never reverse more than the sale had
    (RefundExceedsSale). If the earned points were already spent, the balance goes negative
    openly (the member is flagged) and later earnings pay the debt. When the sale that paid a
    referral bonus is wholly refunded, both sides of the bonus are taken back.

    Coupons: the lines kept after the refund are re-priced by the sale's coupons, as at the
    sale, by the arithmetic that priced it (coupons.terms.reprice); the refund's cash makes the
    member's payment for the kept lines (cash, stored value and points offset) what they cost
    re-priced. `coupon_clawback` is what that keeps back of the refunded lines' money net of
    their coupon share (negative: paid back on top, when the kept lines now carry more of a
    discount), `clawed_coupons` each coupon's change on the kept lines. Cash stays within
    [0, the sale's cash not yet returned]; what it cannot settle, the next refunds do.

    Refund numbers are unique per store for ever: the same number with the same body returns
    the first Refund (its `replayed` is True); for another sale or body, DuplicateRefund.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _refund_sale(**kwargs)
        except IntegrityError:
            if attempt == 2:  # the number was taken by a refund committed meanwhile: look again
                raise
    raise AssertionError("unreachable")


def _refund_sale(*, sale, refund_no, source, lines=None, terminal=None, actor=None, at=None):
    at = at or timezone.now()
    refund_no = str(refund_no or "").strip()
    if not refund_no:
        raise InvalidSale(fields={"refund_no": [_("Required.")]})
    member = sale.member
    # The referrer's account too when this sale paid the referral: both in id order.
    account, _referrer_locked = _lock_accounts(member, with_referrer=sale.referral_bonus)
    fingerprint = _fingerprint(lines=lines)
    existing = Refund.objects.filter(store=sale.store_id, refund_no=refund_no).first()
    if existing is not None:
        if existing.sale_id != sale.pk or existing.fingerprint != fingerprint:
            raise DuplicateRefund()
        existing.replayed = True
        return existing

    sale_lines = list(sale.lines.order_by("line_no"))
    done = {
        row["sale_line"]: row
        for row in RefundLine.objects.filter(sale_line__sale=sale)
        .values("sale_line")
        .annotate(qty=Sum("qty"), amount=Sum("amount"))
    }
    left = {ln.pk: ln.qty - (done.get(ln.pk, {}).get("qty") or 0) for ln in sale_lines}
    wanted = _wanted(sale_lines, left, lines)

    uses = list(sale.coupons.select_related("coupon__version", "coupon__template").order_by("pk"))
    earlier = list(sale.refunds.all())
    taken = {}
    for line, qty, _amount in wanted:
        taken[line.pk] = taken.get(line.pk, 0) + qty
    # Each coupon's discount on each line as the member holds the sale now: as the sale charged
    # it, or, after an earlier refund, as the kept lines were re-priced then.
    shares = _coupon_shares(uses, sale_lines, left if earlier else None)

    refund_lines = []
    kept_back_by_coupon = dict.fromkeys(shares, ZERO)
    for line, qty, amount in wanted:
        before = line.qty - left[line.pk]
        after = before + qty
        amount_left = line.amount - (done.get(line.pk, {}).get("amount") or ZERO)
        if amount is None:
            amount = _cumulative(line.amount, before, after, line.qty)
        if amount > amount_left:
            raise RefundExceedsSale(
                fields={
                    "lines": [
                        _("%(sku)s: ¥%(amount)s is more than the ¥%(left)s left to refund.")
                        % {"sku": line.sku, "amount": amount, "left": amount_left}
                    ]
                }
            )
        # The coupon discount these units carry now, coupon by coupon: not paid back (the
        # member never paid it).
        kept_back = ZERO
        for code, by_line in shares.items():
            share = by_line[line.pk]
            part = share if qty == left[line.pk] else _share(share, qty, left[line.pk])
            kept_back_by_coupon[code] += part
            kept_back += part
        offset_returned = _cumulative(line.offset_amount, before, after, line.qty)
        refund_lines.append(
            RefundLine(
                sale_line=line,
                qty=qty,
                amount=amount,
                points_reversed=_cumulative(line.points_earned, before, after, line.qty),
                points_returned=_cumulative(line.points_redeemed, before, after, line.qty),
                offset_returned=offset_returned,
                stored_value_returned=_cumulative(
                    line.stored_value_amount, before, after, line.qty
                ),
                coupon_returned=kept_back,
            )
        )
        gross = _cumulative(line.amount, before, after, line.qty)
        refund_lines[-1].due = gross - offset_returned - kept_back
    wholly = all(left[ln.pk] == taken.get(ln.pk, 0) for ln in sale_lines)
    kept = {ln.pk: left[ln.pk] - taken.get(ln.pk, 0) for ln in sale_lines}
    kept_price, kept_discounts = _reprice(uses, sale_lines, kept)
    clawbacks = {
        code: sum(by_line.values(), ZERO)
        - kept_back_by_coupon[code]
        - sum(kept_discounts[code].values(), ZERO)
        for code, by_line in shares.items()
    }

    def total(field):
        return sum((getattr(rl, field) for rl in refund_lines), 0)

    refund = Refund.objects.create(
        sale=sale,
        refund_no=refund_no,
        store=sale.store,
        terminal=terminal,
        member=member,
        amount=total("amount"),
        amount_due=sum((rl.due for rl in refund_lines), ZERO),
        points_reversed=total("points_reversed"),
        points_returned=total("points_returned"),
        offset_returned=total("offset_returned"),
        stored_value_returned=total("stored_value_returned"),
        fingerprint=fingerprint,
        source=source,
        actor=actor,
        created_at=at,
    )
    # After this refund the member has paid (cash, stored value and points offset at its yuan
    # value) what the kept lines cost re-priced: the cash this refund returns makes up the
    # difference. Stored value and points go back as they were spent, so cash alone moves:
    # never below nothing, never more than the cash the sale has left. What it cannot move
    # now, the sale's next refunds do (the last returns exactly what is left of each tender).
    paid, cash_left = _paid_so_far(sale, earlier)
    cash = paid - kept_price - refund.offset_returned - refund.stored_value_returned
    cash = min(max(cash, ZERO), cash_left)
    refund.coupon_clawback = refund.amount_due - refund.stored_value_returned - cash
    refund.clawed_coupons = {code: str(v) for code, v in clawbacks.items() if v and not wholly}
    for rl in refund_lines:
        rl.refund = refund
    RefundLine.objects.bulk_create(refund_lines)

    common = {
        "member": member,
        "source": source,
        "actor": actor,
        "store": sale.store,
        "terminal": terminal,
        "reference": refund_no,
        "at": at,
    }
    points_after = None
    if refund.points_returned:
        refund.return_entry = post_points_entry(
            points=refund.points_returned,
            kind=PointsEntry.Kind.REDEEM_REVERSAL,
            reverses=sale.redeem_entry,
            key=f"refund:{refund.pk}:return",
            **common,
        )
        points_after = refund.return_entry.balance_after
    if refund.points_reversed:
        earn = sale.earn_entry
        refund.reverse_entry = post_points_entry(
            points=-refund.points_reversed,
            kind=PointsEntry.Kind.EARN_REVERSAL,
            reverses=earn,
            allow_negative=True,
            prefer_lot_ids=set(earn.lots.values_list("id", flat=True)),
            key=f"refund:{refund.pk}:reverse",
            **common,
        )
        points_after = refund.reverse_entry.balance_after
    stored_value_after = None
    if refund.stored_value_returned:
        wallet_entry = refund_stored_value(
            payment=sale.wallet_entry,
            amount=refund.stored_value_returned,
            source=source,
            store=sale.store,
            terminal=terminal,
            actor=actor,
            reference=refund_no,
            key=f"refund:{refund.pk}",
        )
        stored_value_after = wallet_entry.principal_after + wallet_entry.bonus_after
    refund.coupons_returned = []
    if wholly:
        # The whole sale came back: its coupons come back to the member (expired if past their
        # date), unless their terms say a used coupon is never returned; such a coupon stays
        # used, but its discount went with the sale (whoever funded it is paid it back).
        for use in uses:
            moves = {"reference": refund_no, "source": source, "actor": actor,
                     "store": sale.store, "terminal": terminal, "at": at}  # fmt: skip
            if use.coupon.version.refund_policy == use.coupon.version.RefundPolicy.RETURN:
                coupon_ledger.give_back(coupon=use.coupon, **moves)
                refund.coupons_returned.append(use.coupon.code)
            else:
                coupon_ledger.undo_discount(coupon=use.coupon, **moves)
    if sale.referral_bonus and wholly:
        # The sale that qualified for the referral is wholly refunded: take both sides back.
        reversal = reverse_referral_bonus(
            member=member,
            occasion=_occasion(sale),
            store=sale.store,
            reference=refund_no,
            source=source,
            actor=actor,
            at=at,
        )
        if reversal is not None:
            points_after = reversal.balance_after
    move_tier_progress(
        account=account,
        spend=-refund.amount_due + refund.coupon_clawback,
        points=-refund.points_reversed,
        at=at,
    )
    # The balances right after this refund, under its locks: what the till prints.
    if points_after is None:
        points_after = PointsAccount.objects.get(pk=account.pk).balance
    if stored_value_after is None:
        stored_value_after = stored_value_of(member.pk)
    refund.points_after, refund.stored_value_after = points_after, stored_value_after
    refund.save(
        update_fields=[
            "return_entry",
            "reverse_entry",
            "points_after",
            "stored_value_after",
            "coupon_clawback",
            "clawed_coupons",
            "coupons_returned",
        ]
    )
    refund.replayed = False
    return refund


def _line_share(use, line):
    return Decimal(use.lines.get(str(line.line_no), "0"))


def _kept_lines(sale_lines, kept):
    """The sale's lines as the member keeps them ({line id: qty kept}): the kept units at the
    price a refund of the others leaves on them (refunds return whole cents by quantity)."""
    return [
        {
            "pk": ln.pk,
            "sku": ln.sku,
            "category": ln.category,
            "qty": kept[ln.pk],
            "amount": ln.amount - _share(ln.amount, ln.qty - kept[ln.pk], ln.qty),
        }
        for ln in sale_lines
        if kept[ln.pk] > 0
    ]


def _reprice(uses, sale_lines, kept):
    """What the kept lines ({line id: qty kept}) would cost bought alone, by the code that
    priced the sale: its coupons applied by coupons.terms on their own terms, as at the sale.
    Returns (price, {coupon code: {sale line id: discount}})."""
    lines = _kept_lines(sale_lines, kept)
    outcomes, per_line = coupon_terms.reprice([use.coupon for use in uses], lines=lines)
    discounts = {}
    for outcome in outcomes:
        by_line = dict.fromkeys(kept, ZERO)
        for ln, share in zip(lines, outcome.shares or [ZERO] * len(lines), strict=True):
            by_line[ln["pk"]] = share
        discounts[outcome.code] = by_line
    return sum((ln["amount"] for ln in lines), ZERO) - sum(per_line, ZERO), discounts


def _coupon_shares(uses, sale_lines, left):
    """{coupon code: {sale line id: discount}} the member holds on the lines still kept: the
    sale's own allocation before any refund (`left` None), else the kept lines re-priced."""
    if left is None:
        return {use.coupon.code: {ln.pk: _line_share(use, ln) for ln in sale_lines} for use in uses}
    return _reprice(uses, sale_lines, left)[1]


def _paid_so_far(sale, refunds):
    """(what the member has paid for the sale net of its refunds: cash, stored value and the
    points offset's yuan; the cash of it not yet returned)."""
    paid = sale.amount_due + sale.offset_amount
    cash = sale.amount_due - sale.stored_value_amount
    for r in refunds:
        returned_cash = r.amount_due - r.stored_value_returned - r.coupon_clawback
        paid -= returned_cash + r.stored_value_returned + r.offset_returned
        cash -= returned_cash
    return paid, cash


def _wanted(sale_lines, left, lines):
    """[(sale line, qty, amount or None)] this refund takes; RefundExceedsSale if too much."""
    if lines is None:
        wanted = [(ln, left[ln.pk], None) for ln in sale_lines if left[ln.pk] > 0]
        if not wanted:
            raise RefundExceedsSale(fields={"lines": [_("Nothing is left to refund.")]})
        return wanted
    wanted = []
    for i, item in enumerate(lines):
        sku = str(item.get("sku") or "")
        try:
            qty = Decimal(str(item.get("qty"))).quantize(QTY)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidSale(fields={f"lines[{i}].qty": [_("Not a quantity.")]}) from None
        amount = item.get("amount")
        amount = _money(amount, f"lines[{i}].amount") if amount is not None else None
        if qty <= 0:
            raise InvalidSale(fields={f"lines[{i}].qty": [_("Must be positive.")]})
        candidates = [ln for ln in sale_lines if ln.sku == sku and left[ln.pk] > 0]
        if not candidates:
            raise RefundExceedsSale(fields={f"lines[{i}]": [_("Nothing of %s left.") % sku]})
        need, takes = qty, []
        for ln in candidates:
            take = min(need, left[ln.pk])
            takes.append((ln, take))
            left[ln.pk] -= take
            need -= take
            if not need:
                break
        # One amount over several lines of the sku: split by largest remainder, so the parts
        # add up to the cent (rounding each part alone lost a cent: 10.00 -> 3.33 x 3).
        parts = (
            allocate_money(amount, [take for _ln, take in takes])
            if amount is not None
            else [None] * len(takes)
        )
        wanted.extend((ln, take, part) for (ln, take), part in zip(takes, parts, strict=True))
        if need:
            raise RefundExceedsSale(
                fields={
                    f"lines[{i}].qty": [
                        _("%(sku)s: a quantity of %(qty)s is more than is left to refund.")
                        % {"sku": sku, "qty": qty}
                    ]
                }
            )
    # `left` was consumed above to split one sku over lines; give callers the true "before".
    for ln, take, _part in wanted:
        left[ln.pk] += take
    return _one_per_line(wanted)


def _one_per_line(wanted):
    """Merge what one request asks of the same sale line (the sku listed twice), so the line is
    checked against what is left once and its shares are cut once: two separate cuts of one
    line would each be checked against the same "left" and each be rounded on their own."""
    merged = {}
    for ln, take, part in wanted:
        if ln.pk not in merged:
            merged[ln.pk] = [ln, take, part]
            continue
        entry = merged[ln.pk]
        if (entry[2] is None) != (part is None):
            raise InvalidSale(
                fields={"lines": [_("Give an amount on every line of %s, or on none.") % ln.sku]}
            )
        entry[1] += take
        if part is not None:
            entry[2] += part
    return [tuple(entry) for entry in merged.values()]


# --- Bonuses for shopping ---------------------------------------------------------------------


def grant_holiday_bonuses(*, on=None, source, actor=None) -> int:
    """Holiday bonus: members who shopped on a holiday (a bonus rule's date) get its points
    once (key `bonus:holiday:<rule>:<member>`).

    Without `on`, every holiday that has ended (before today, Shanghai time) and was not done
    yet (at most CATCH_UP_DAYS back) is paid, and marked done: run it after midnight, and a
    night the scheduler missed is caught up by the next run. With `on`, that day only; a day
    not over yet is paid so far but not marked done, so a later run pays its last shoppers.
    Returns how many members were paid now.
    """
    today = timezone.localdate()
    days = [on] if on else days_to_catch_up("holiday", today - timezone.timedelta(days=1))
    paid = 0
    for day in days:
        count = _pay_holiday_shoppers(day, source, actor)
        if day < today:
            mark_bonus_day_done("holiday", day, count)
        paid += count
    return paid


def _pay_holiday_shoppers(day, source, actor):
    start = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
    end = start + timezone.timedelta(days=1)
    shopped = Sale.objects.filter(created_at__gte=start, created_at__lt=end)
    paid = 0
    for rule in holiday_rules(day):
        shoppers = members_without(
            holiday_bonus_key(rule, ""),
            Member.objects.filter(pk__in=shopped.values("member_id")).order_by("pk"),
        )
        for member in shoppers.iterator(chunk_size=1000):
            grant_holiday_bonus(rule=rule, member=member, source=source, actor=actor)
            paid += 1
    return paid
