"""Checkout and refunds: what the till API calls. They orchestrate the apps below: points move
only through loyalty.ledger, stored value through wallet's services, the member's visit and tier
through members' services; this module writes only sales' own tables."""

import hashlib
import json
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import CENT, ZERO, allocate, allocate_money
from core.sql import Statement, insert_sql, load, lock_clause, select_list, width
from loyalty import rulebook
from loyalty.exceptions import InsufficientPoints, RedemptionNotAllowed
from loyalty.ledger import add_sale_points, move_tier_progress, open_account, post_points_entry
from loyalty.models import PointsAccount, PointsEntry, PointsLot
from loyalty.services import grant_holiday_bonus, grant_referral_bonus, upgrade_for
from loyalty.services.bonuses import holiday_bonus_key, holiday_rules, members_without
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
from wallet.services import pay_with_stored_value, refund_stored_value

from .exceptions import DuplicateReceipt, DuplicateRefund, InvalidSale, RefundExceedsSale
from .models import Refund, RefundLine, Sale, SaleLine

QTY = Decimal("0.001")


def _money(value, field):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidSale(fields={field: [_("Not an amount.")]}) from None
    return amount


def _clean_lines(lines):
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


def _plan(*, book, store, member, lines, total, redeem_points, account_balance, at, tier):
    """Everything a sale would do, without writing: redemption, offsets, earning."""
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
    rules = earning_rules_for(store=store, tier=tier, at=at, book=book)
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


def quote_sale(*, store, member, lines, redeem_points=0, at=None) -> dict:
    """No side effects: the points a basket would earn, the most points it may redeem and the
    offset they pay for. Raises the same errors `post_sale` would for `redeem_points`."""
    at = at or timezone.now()
    lines = _clean_lines(lines)
    total = sum((ln["amount"] for ln in lines), ZERO)
    available = (
        PointsLot.objects.filter(account__member=member, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .aggregate(total=Sum("remaining"))["total"]
        or 0
    )
    balance = PointsAccount.objects.filter(member=member).values_list("balance", flat=True)
    available = min(available, balance.first() or 0)
    book = rulebook.get()
    rule = redemption_rule_for(store=store, at=at, book=book)
    max_points, _eligible = redemption_limits(
        rule=rule, lines=lines, total=total, available=available
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
        tier=member.tier,
    )
    return {
        "points_to_earn": sum(plan["per_line"]),
        "max_redeem_points": max_points,
        "max_offset_amount": offset_for(max_points, rule) if rule else ZERO,
        "offset_amount": plan["offset"],
        "points_available": available,
        "coupons": [],
    }


def _lock_account_and_sale(member, store, receipt_no):
    """Lock the member's points account and, in the same query, look for this receipt, read
    the member's stored value and the rule book's token: one round trip for what every sale
    needs before it can decide anything.

    The account lock serializes two tills posting for one member, so the receipt check and
    the balance both see the other's committed write; the unique (store, receipt_no) is the
    backstop against two tills posting the same receipt for different members.
    Returns (account, id of the sale with this receipt or None, stored value or None, token).
    """
    sql = (
        f"SELECT {select_list(PointsAccount, 'a')}, "
        f'(SELECT s.id FROM "{Sale._meta.db_table}" s '
        "WHERE s.store_id = %s AND s.receipt_no = %s), "
        f'(SELECT w.principal + w.bonus FROM "{Wallet._meta.db_table}" w WHERE w.member_id = %s), '
        f"{rulebook.TOKEN_SQL} "
        f'FROM "{PointsAccount._meta.db_table}" a WHERE a.member_id = %s{lock_clause(of="a")}'
    )
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [store.pk, receipt_no, member.pk, member.pk])
            row = cursor.fetchone()
        if row is not None:
            break
        open_account(member)
    n = width(PointsAccount)
    return load(PointsAccount, row), row[n], row[n + 1], row[n + 2]


@transaction.atomic
def post_sale(
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
    """Check out a member's sale: redeem points (within the redemption rule), pay stored value,
    earn points by the earning rules on what was paid, upgrade the tier at once if the sale
    crosses a threshold, and record the member's visit.

    Every line keeps its share of points earned, points redeemed, offset, stored value and
    coupon discount, and the sale keeps the breakdown, so refunds reverse exactly and later rule
    changes never rewrite it. The same store + receipt no with the same body returns the first
    Sale; with another body it raises DuplicateReceipt.
    """
    at = at or timezone.now()
    receipt_no = str(receipt_no or "").strip()
    if not receipt_no:
        raise InvalidSale(fields={"receipt_no": [_("Required.")]})
    lines = _clean_lines(lines)
    total = _money(total, "total")
    if total != sum((ln["amount"] for ln in lines), ZERO):
        raise InvalidSale(fields={"total": [_("The total is not the sum of the lines.")]})
    redeem_points = int(redeem_points or 0)
    if redeem_points < 0:
        raise InvalidSale(fields={"redeem_points": [_("Cannot be negative.")]})
    if coupon_codes:
        raise InvalidSale(fields={"coupon_codes": [_("Coupons are not accepted yet.")]})
    stored_value_amount = _money(stored_value_amount, "stored_value_amount")
    fingerprint = _fingerprint(
        member=member.pk,
        lines=lines,
        total=total,
        redeem_points=redeem_points,
        coupon_codes=sorted(coupon_codes),
        stored_value_amount=stored_value_amount,
    )

    account, existing_id, stored_value, token = _lock_account_and_sale(member, store, receipt_no)
    if existing_id is not None:
        existing = Sale.objects.get(pk=existing_id)
        if existing.fingerprint != fingerprint:
            raise DuplicateReceipt()
        return existing

    book = rulebook.get(token)
    tiers = book.tiers
    # A member not yet placed in a tier earns as the default tier does.
    tier = book.tier(member.tier_id)
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
    )
    amount_due = total - plan["offset"]
    if stored_value_amount < 0 or stored_value_amount > amount_due:
        raise InvalidSale(fields={"stored_value_amount": [_("More than the amount due.")]})
    paid = [ln["amount"] - off for ln, off in zip(lines, plan["offsets"], strict=True)]
    stored_shares = allocate_money(stored_value_amount, paid)
    wallet_entry = None
    if stored_value_amount:
        if stored_value is None:  # no wallet yet
            raise InsufficientStoredValue.of(balance=ZERO, wanted=stored_value_amount)
        wallet_entry = _pay_stored_value(
            member, stored_value_amount, source, store, terminal, actor, receipt_no
        )
        stored_value = wallet_entry.principal_after + wallet_entry.bonus_after

    points_earned = sum(plan["per_line"])
    policy = book.expiry_policy(at) if points_earned else None
    expires_at = expires_at_for(at, policy) if points_earned else None
    # Decided before anything is written, from the counters as this sale will leave them, so
    # the sale row is written once with its tier after.
    account.qualifying_spend += amount_due
    account.qualifying_points += points_earned
    new_tier, why = upgrade_for(
        member=member,
        account=account,
        tiers=tiers,
        at=at,
        pending_spend=amount_due,
        pending_points=points_earned,
    )
    account.qualifying_spend -= amount_due
    account.qualifying_points -= points_earned
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
        amount_due=amount_due,
        stored_value_amount=stored_value_amount,
        points_earned=points_earned,
        points_redeemed=redeem_points,
        breakdown=breakdown,
        tier_before=tier,
        tier_after=new_tier or tier,
        wallet_entry=wallet_entry,
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
            earning=plan["detail"][i],
        )
        for i, ln in enumerate(lines)
    ]
    # One statement writes the points (loyalty's part), the sale and its lines (ours) and the
    # member's visit and tier (members' part).
    statement = Statement()
    points = add_sale_points(
        statement,
        account=account,
        store=store,
        receipt_no=receipt_no,
        redeem=redeem_points,
        earn=points_earned,
        expires_at=expires_at,
        spend=amount_due,
        source=source,
        actor=actor,
        terminal=terminal,
        at=at,
    )
    sale.redeem_entry, sale.earn_entry = points.redeem_entry, points.earn_entry
    sale.points_after = account.balance
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
    add_visit(
        statement,
        member_id=member.pk,
        at=at,
        tier_id=new_tier.pk if new_tier is not None else None,
    )
    statement.select("(SELECT id FROM new_sale)", _receive_sale_id(sale))
    statement.execute()
    for line in sale_lines:
        line.sale = sale
    if new_tier is not None:
        log_tier_change(
            member=member,
            from_tier=tier,
            to_tier=new_tier,
            reason=TierChange.Reason.UPGRADE,
            detail=why,
            source=source,
            actor=actor,
            reference=f"{store.code}/{receipt_no}",
            at=at,
        )
        member.tier = new_tier
    member.last_visit_at = at
    if member.referrer_id:
        bonus = grant_referral_bonus(
            member=member,
            amount=sale.amount_due,
            store=store,
            reference=f"referral:{member.member_no}",
            source=source,
            actor=actor,
            at=at,
        )
        if bonus is not None:
            # The bonus was paid by this sale: the till prints the balance with it.
            sale.points_after = bonus.balance_after
            Sale.objects.filter(pk=sale.pk).update(points_after=sale.points_after)
    return sale


def _receive_sale_id(sale):
    def receive(pk):
        sale.pk = pk
        sale._state.adding = False

    return receive


def _pay_stored_value(member, amount, source, store, terminal, actor, receipt_no):
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


@transaction.atomic
def refund_sale(
    *, sale, refund_no, source, lines=None, terminal=None, actor=None, at=None
) -> Refund:
    """Refund some lines (by sku and qty) or everything left of a sale.

    Each refunded line reverses what it earned and returns what it used (redeemed points to
    the very lots they came from, stored value in its principal/bonus split), in proportion to
    quantity within the line, so two partial refunds never reverse more than the sale had
    (RefundExceedsSale). If the earned points were already spent, the balance goes negative
    openly (the member is flagged) and later earnings pay the debt. The same refund no again
    returns the first Refund.
    """
    at = at or timezone.now()
    refund_no = str(refund_no or "").strip()
    if not refund_no:
        raise InvalidSale(fields={"refund_no": [_("Required.")]})
    member = sale.member
    open_account(member)
    account = PointsAccount.objects.select_for_update().get(member_id=member.pk)
    fingerprint = _fingerprint(lines=lines)
    existing = Refund.objects.filter(sale=sale, refund_no=refund_no).first()
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise DuplicateRefund()
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

    refund_lines = []
    for line, qty, amount in wanted:
        before = line.qty - left[line.pk]
        after = before + qty
        due = line.amount - line.offset_amount - line.coupon_discount
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
        refund_lines.append(
            RefundLine(
                sale_line=line,
                qty=qty,
                amount=amount,
                points_reversed=_cumulative(line.points_earned, before, after, line.qty),
                points_returned=_cumulative(line.points_redeemed, before, after, line.qty),
                offset_returned=_cumulative(line.offset_amount, before, after, line.qty),
                stored_value_returned=_cumulative(
                    line.stored_value_amount, before, after, line.qty
                ),
                coupon_returned=_cumulative(line.coupon_discount, before, after, line.qty),
            )
        )
        refund_lines[-1].due = _cumulative(due, before, after, line.qty)

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
    move_tier_progress(
        account=account, spend=-refund.amount_due, points=-refund.points_reversed, at=at
    )
    # The balances right after this refund, under its locks: what the till prints.
    if points_after is None:
        points_after = PointsAccount.objects.get(pk=account.pk).balance
    if stored_value_after is None:
        stored_value_after = _stored_value_of(member)
    refund.points_after, refund.stored_value_after = points_after, stored_value_after
    refund.save(
        update_fields=["return_entry", "reverse_entry", "points_after", "stored_value_after"]
    )
    return refund


def _stored_value_of(member):
    wallet = Wallet.objects.filter(member=member).values_list("principal", "bonus").first()
    return sum(wallet, ZERO) if wallet else ZERO


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
        need = qty
        for ln in candidates:
            take = min(need, left[ln.pk])
            part = None if amount is None else (amount * take / qty).quantize(CENT)
            wanted.append((ln, take, part))
            left_after = left[ln.pk] - take
            need -= take
            left[ln.pk] = left_after
            if not need:
                break
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
    once (key `bonus:holiday:<rule>:<member>`). Run the night after. Returns how many paid."""
    on = on or timezone.localdate()
    paid = 0
    start = timezone.make_aware(timezone.datetime.combine(on, timezone.datetime.min.time()))
    end = start + timezone.timedelta(days=1)
    shopped = Sale.objects.filter(created_at__gte=start, created_at__lt=end)
    for rule in holiday_rules(on):
        shoppers = members_without(
            holiday_bonus_key(rule, ""),
            Member.objects.filter(pk__in=shopped.values("member_id")).order_by("pk"),
        )
        for member in shoppers.iterator(chunk_size=1000):
            grant_holiday_bonus(rule=rule, member=member, source=source, actor=actor)
            paid += 1
    return paid
