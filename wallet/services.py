"""Stored-value services: every change to a wallet goes through one of these functions.

Each ends in `wallet.ledger.post_wallet_entry` (the only writer of wallets). Money is Decimal
with 2 places; principal (paid in) and bonus (given by a plan) are kept apart throughout.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.approvals import lock_for_decision, needs_approval
from core.money import CENT
from loyalty.ledger import lock_account, open_account, post_points_entry
from loyalty.models import PointsEntry
from members.models import Member
from wallet.exceptions import (
    AdjustmentApprovalNotAllowed,
    ApprovalNotAllowed,
    DuplicateRecharge,
    InsufficientStoredValue,
    ReasonRequired,
    RechargePlanNotAvailable,
    WalletOperationRefused,
    WithdrawalNotPending,
)
from wallet.ledger import bulk_post_opening_balances, lock_wallet, open_wallet, post_wallet_entry
from wallet.models import (
    RechargePlan,
    StoredValueAdjustment,
    Transfer,
    Wallet,
    WalletEntry,
    WithdrawalRequest,
)

Kind = WalletEntry.Kind
APPROVE_WITHDRAWAL = "wallet.approve_withdrawal"
APPROVE_ADJUSTMENT = "wallet.approve_storedvalueadjustment"


def _money(value, field="amount"):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception as exc:
        raise WalletOperationRefused(fields={field: [_("Not a valid amount.")]}) from exc
    if amount <= 0:
        raise WalletOperationRefused(fields={field: [_("The amount must be positive.")]})
    return amount


def _require_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(fields={"reason": [_("A reason is required.")]})
    return reason


def _locked_wallet(member_id):
    try:
        return lock_wallet(member_id)
    except Wallet.DoesNotExist as exc:
        raise InsufficientStoredValue(
            fields={"stored_value": [_("The member has no stored value yet.")]}
        ) from exc


def _split(amount, principal, bonus):
    """Split `amount` between principal and bonus in the proportion `principal : bonus`.

    Rounds the bonus share to the cent and gives the remainder to principal, then corrects if
    either side would go past what it holds because of rounding.
    """
    total = principal + bonus
    if not total:
        return amount, Decimal("0.00")
    bonus_part = (amount * bonus / total).quantize(CENT, rounding=ROUND_HALF_UP)
    principal_part = amount - bonus_part
    if principal_part > principal:
        principal_part, bonus_part = principal, amount - principal
    if bonus_part > bonus:
        principal_part, bonus_part = amount - bonus, bonus
    return principal_part, bonus_part


# --- recharge --------------------------------------------------------------------------------


def active_recharge_plans(store=None, at=None):
    """Plans a till in `store` may offer at `at` (now): active, in their dates, for the store."""
    at = at or timezone.now()
    plans = RechargePlan.objects.filter(is_active=True).filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=at),
        Q(ends_at__isnull=True) | Q(ends_at__gt=at),
    )
    if store is not None:
        plans = plans.filter(Q(stores__isnull=True) | Q(stores=store)).distinct()
    return plans.order_by("pay_amount", "code")


@dataclass
class RechargeResult:
    entry: WalletEntry
    amount: Decimal
    bonus: Decimal
    bonus_points: int
    principal: Decimal
    bonus_balance: Decimal
    plan: RechargePlan | None = None
    replayed: bool = False

    @property
    def balance(self):
        return self.principal + self.bonus_balance


@transaction.atomic
def recharge_wallet(
    *,
    member,
    amount,
    source,
    plan=None,
    store=None,
    terminal=None,
    actor=None,
    reference="",
    key=None,
    at=None,
) -> RechargeResult:
    """Top up a member's stored value: `amount` is principal; a plan may add bonus or points.

    The plan (a RechargePlan or its code) must be active at `at`, offered at `store`, and
    `amount` must reach its `pay_amount`; it then adds `bonus_amount` as bonus (once) and
    `bonus_points` through the points ledger. Same `key` again: the first result, nothing added.
    """
    amount = _money(amount)
    at = at or timezone.now()
    if plan is not None and not isinstance(plan, RechargePlan):
        plan = RechargePlan.objects.filter(code=plan).first()
        if plan is None:
            raise RechargePlanNotAvailable(fields={"plan": [_("No such recharge plan.")]})
    if key:
        existing = WalletEntry.objects.filter(key=key).select_related("plan", "wallet").first()
        if existing is not None:
            # The same key is the same recharge only for the same member, amount and plan.
            if (
                existing.kind != Kind.RECHARGE
                or existing.wallet.member_id != member.pk
                or existing.principal != amount
                or existing.plan_id != getattr(plan, "pk", None)
            ):
                raise DuplicateRecharge()
            return _recharge_result(existing, replayed=True)
    if plan is not None:
        if not active_recharge_plans(store, at).filter(pk=plan.pk).exists():
            raise RechargePlanNotAvailable()
        if store is None and plan.stores.exists():
            # A plan limited to some stores needs to know where the money was paid in.
            raise RechargePlanNotAvailable(fields={"store": [_("This plan needs a store.")]})
        if amount < plan.pay_amount:
            raise RechargePlanNotAvailable(
                fields={"amount": [_("The plan needs at least %s.") % plan.pay_amount]}
            )
    bonus = plan.bonus_amount if plan is not None else Decimal("0.00")
    if plan is not None and plan.bonus_points:
        # Every path that moves both points and stored value locks the points account first,
        # then the wallet (as checkout and refunds do); the other order deadlocks against a
        # sale of the same member paying from stored value.
        open_account(member)
        lock_account(member.pk)
    open_wallet(member)
    entry = post_wallet_entry(
        member=member,
        kind=Kind.RECHARGE,
        principal=amount,
        bonus=bonus,
        source=source,
        actor=actor,
        store=store,
        terminal=terminal,
        reason=plan.name if plan else "",
        reference=reference,
        key=key,
        plan=plan,
        at=at,
    )
    if plan is not None and plan.bonus_points:
        post_points_entry(
            member=member,
            points=plan.bonus_points,
            kind=PointsEntry.Kind.BONUS,
            source=source,
            actor=actor,
            store=store,
            terminal=terminal,
            reason=plan.name,
            reference=reference or f"recharge:{entry.pk}",
            key=f"recharge:{entry.pk}:points",
            at=at,
        )
    return _recharge_result(entry)


def _recharge_result(entry, replayed=False):
    plan = entry.plan
    return RechargeResult(
        entry=entry,
        amount=entry.principal,
        bonus=entry.bonus,
        bonus_points=plan.bonus_points if plan else 0,
        principal=entry.principal_after,
        bonus_balance=entry.bonus_after,
        plan=plan,
        replayed=replayed,
    )


# --- payment and refund ----------------------------------------------------------------------


@transaction.atomic
def pay_with_stored_value(
    *, member, amount, source, store=None, terminal=None, actor=None, reference="", key=None
) -> WalletEntry:
    """Pay `amount` from the member's wallet, drawing principal and bonus in proportion.

    Raises InsufficientStoredValue if the wallet holds less than `amount`.
    """
    amount = _money(amount)
    # The lock comes before the split: the proportion must be the one the payment sees.
    wallet = _locked_wallet(member.pk)
    if key:
        existing = WalletEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    principal_part, bonus_part = _split(amount, wallet.principal, wallet.bonus)
    return post_wallet_entry(
        member=member,
        kind=Kind.PAYMENT,
        principal=-principal_part,
        bonus=-bonus_part,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=key,
    )


@transaction.atomic
def refund_stored_value(
    *, payment, amount, source, store=None, terminal=None, actor=None, reference="", key=None
) -> WalletEntry:
    """Give back `amount` of a stored-value `payment`, in the proportion that payment drew.

    Never gives back more than the payment took, over all its refunds together; the last
    refund returns exactly what is left of each part, so rounding never leaks. `key` (or,
    failing that, `reference`) identifies the refund: the same one again returns the first.
    """
    if payment.kind != Kind.PAYMENT:
        raise WalletOperationRefused(fields={"payment": [_("Not a stored-value payment.")]})
    amount = _money(amount)
    ident = key or reference
    if not ident:
        raise WalletOperationRefused(fields={"reference": [_("A refund needs a reference.")]})
    full_key = f"payment:{payment.pk}:{ident}"
    lock_wallet(payment.wallet.member_id)
    # Checked under the lock and before the "what is left" test, so a retry of the refund that
    # took the rest of the payment returns it instead of failing.
    existing = WalletEntry.objects.filter(key=full_key).first()
    if existing is not None:
        return existing
    back = WalletEntry.objects.filter(reverses=payment).aggregate(
        p=Sum("principal"), b=Sum("bonus")
    )
    left_principal = -payment.principal - (back["p"] or 0)
    left_bonus = -payment.bonus - (back["b"] or 0)
    if amount > left_principal + left_bonus:
        raise WalletOperationRefused(
            code="refund_exceeds_payment",
            fields={
                "amount": [
                    _("¥%(amount)s is more than the ¥%(left)s of this payment not yet refunded.")
                    % {"amount": amount, "left": left_principal + left_bonus}
                ]
            },
        )
    principal_part, bonus_part = _split(amount, left_principal, left_bonus)
    return post_wallet_entry(
        member=payment.wallet.member,
        kind=Kind.REFUND,
        principal=principal_part,
        bonus=bonus_part,
        source=source,
        store=store,
        terminal=terminal,
        actor=actor,
        reference=reference,
        key=full_key,
        reverses=payment,
    )


# --- withdrawal ------------------------------------------------------------------------------


@transaction.atomic
def request_withdrawal(
    *, member, source, reason, amount=None, store=None, actor=None, key=None
) -> WithdrawalRequest:
    """Ask to pay a member's principal back in cash (余额提现); nothing moves until approved.

    `amount` None means all the principal. Reason required. Bonus is never paid out.
    """
    reason = _require_reason(reason)
    if key:
        existing = WithdrawalRequest.objects.filter(key=key).first()
        if existing is not None:
            return existing
    wallet = open_wallet(member)
    amount = wallet.principal if amount is None else _money(amount)
    if amount <= 0 or amount > wallet.principal:
        raise InsufficientStoredValue(
            fields={"amount": [_("Only principal can be withdrawn: %s.") % wallet.principal]}
        )
    return WithdrawalRequest.objects.create(
        member=member,
        amount=amount,
        reason=reason,
        store=store,
        requested_by=actor,
        source=source,
        key=key or None,
    )


@transaction.atomic
def approve_withdrawal(*, request, actor, source, note="") -> WithdrawalRequest:
    """Pay out an approved withdrawal: principal leaves, the bonus that went with it is forfeited.

    The approver needs `members.approve_withdrawal` and must not be the requester. A partial
    withdrawal forfeits the bonus in the same proportion as the principal it takes (all of the
    principal: all of the bonus). Both movements are entries of their own.
    """
    if actor is None or not actor.has_perm(APPROVE_WITHDRAWAL):
        raise ApprovalNotAllowed()
    if request.requested_by_id is not None and request.requested_by_id == actor.pk:
        raise ApprovalNotAllowed(
            _("The user who requested a withdrawal cannot approve it."), code="same_approver"
        )
    wallet = _locked_wallet(request.member_id)
    # Lock the request after the wallet (fixed order) so two approvers cannot both pay it.
    req = WithdrawalRequest.objects.select_for_update().get(pk=request.pk)
    if req.status != WithdrawalRequest.Status.PENDING:
        raise WithdrawalNotPending()
    if req.amount > wallet.principal:
        raise InsufficientStoredValue.of(
            balance=wallet.principal, wanted=req.amount, field="amount", principal_only=True
        )
    forfeit = Decimal("0.00")
    if wallet.bonus:
        forfeit = (wallet.bonus * req.amount / wallet.principal).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        forfeit = min(forfeit, wallet.bonus)
    member = req.member
    req.entry = post_wallet_entry(
        member=member,
        kind=Kind.WITHDRAWAL,
        principal=-req.amount,
        bonus=Decimal("0.00"),
        source=source,
        actor=actor,
        store=req.store,
        reason=req.reason,
        reference=f"withdrawal:{req.pk}",
        key=f"withdrawal:{req.pk}",
    )
    if forfeit:
        req.forfeit_entry = post_wallet_entry(
            member=member,
            kind=Kind.BONUS_FORFEIT,
            principal=Decimal("0.00"),
            bonus=-forfeit,
            source=source,
            actor=actor,
            store=req.store,
            reason=req.reason,
            reference=f"withdrawal:{req.pk}",
            key=f"withdrawal:{req.pk}:forfeit",
        )
    req.status = WithdrawalRequest.Status.APPROVED
    req.decided_by, req.decided_at, req.decision_note = actor, timezone.now(), note[:200]
    req.save()
    return req


@transaction.atomic
def reject_withdrawal(*, request, actor, source, note="") -> WithdrawalRequest:
    """Refuse a pending withdrawal; nothing moves. Same permission rule as approval."""
    if actor is None or not actor.has_perm(APPROVE_WITHDRAWAL):
        raise ApprovalNotAllowed()
    req = WithdrawalRequest.objects.select_for_update().get(pk=request.pk)
    if req.status != WithdrawalRequest.Status.PENDING:
        raise WithdrawalNotPending()
    req.status = WithdrawalRequest.Status.REJECTED
    req.decided_by, req.decided_at, req.decision_note = actor, timezone.now(), note[:200]
    req.save()
    return req


# --- transfer and adjustment -----------------------------------------------------------------


@transaction.atomic
def transfer_stored_value(
    *,
    from_member,
    to_member,
    amount,
    source,
    actor=None,
    store=None,
    reason="",
    key=None,
) -> Transfer:
    """Move stored value between two members (余额转账): both sides in one transaction.

    Principal and bonus move in the sender's proportion and stay principal and bonus on the
    receiving side. Both wallets are locked in member-id order, so two opposite transfers
    between the same members cannot deadlock. Either both entries are written or neither.
    """
    amount = _money(amount)
    if from_member.pk == to_member.pk:
        raise WalletOperationRefused(fields={"to_member": [_("Cannot transfer to oneself.")]})
    if to_member.status != Member.Status.ACTIVE:
        raise WalletOperationRefused(fields={"to_member": [_("The receiving card is not active.")]})
    open_wallet(to_member)
    locked = {}
    for member_id in sorted([from_member.pk, to_member.pk]):
        locked[member_id] = _locked_wallet(member_id)
    if key:
        # Under both locks: a retried transfer waits for the first and then returns it.
        existing = Transfer.objects.filter(key=key).first()
        if existing is not None:
            return existing
    sender = locked[from_member.pk]
    principal_part, bonus_part = _split(amount, sender.principal, sender.bonus)
    ref = key or ""
    out_entry = post_wallet_entry(
        member=from_member,
        kind=Kind.TRANSFER_OUT,
        principal=-principal_part,
        bonus=-bonus_part,
        source=source,
        actor=actor,
        store=store,
        reason=reason,
        reference=_("to %s") % to_member.member_no,
        key=f"transfer:{ref}:out" if ref else None,
    )
    in_entry = post_wallet_entry(
        member=to_member,
        kind=Kind.TRANSFER_IN,
        principal=principal_part,
        bonus=bonus_part,
        source=source,
        actor=actor,
        store=store,
        reason=reason,
        reference=_("from %s") % from_member.member_no,
        key=f"transfer:{ref}:in" if ref else None,
    )
    return Transfer.objects.create(
        from_member=from_member,
        to_member=to_member,
        amount=amount,
        out_entry=out_entry,
        in_entry=in_entry,
        reason=reason[:200],
        store=store,
        actor=actor,
        source=source,
        key=key or None,
    )


@transaction.atomic
def adjust_stored_value(
    *,
    member,
    source,
    reason,
    principal=Decimal("0.00"),
    bonus=Decimal("0.00"),
    actor=None,
    store=None,
    key=None,
) -> StoredValueAdjustment:
    """Correct a wallet by signed principal and bonus amounts, with a reason (never below zero).

    Like points adjustments, maker-checker: up to settings.STORED_VALUE_ADJUSTMENT_APPROVAL_
    THRESHOLD yuan (principal and bonus, absolute, counted with what the same person asked for
    the same member today) posts at once; above it the adjustment waits for another user with
    `wallet.approve_storedvalueadjustment`. Same `key` again: the first adjustment.
    """
    reason = _require_reason(reason)
    try:
        principal = Decimal(str(principal)).quantize(CENT)
        bonus = Decimal(str(bonus)).quantize(CENT)
    except Exception as exc:
        raise WalletOperationRefused(fields={"principal": [_("Not a valid amount.")]}) from exc
    if not principal and not bonus:
        raise WalletOperationRefused(fields={"principal": [_("Nothing to adjust.")]})
    if key:
        existing = StoredValueAdjustment.objects.filter(key=key).first()
        if existing is not None:
            return existing
    pending = needs_approval(
        model=StoredValueAdjustment,
        member=member,
        actor=actor,
        size=abs(principal) + abs(bonus),
        threshold=settings.STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD,
        size_of=lambda row: abs(row.principal) + abs(row.bonus),
    )
    adjustment = StoredValueAdjustment.objects.create(
        member=member,
        principal=principal,
        bonus=bonus,
        reason=reason[:200],
        status=StoredValueAdjustment.Status.PENDING,
        store=store,
        source=source,
        requested_by=actor,
        key=key or None,
    )
    if not pending:
        _post_adjustment(adjustment, actor)
        adjustment.save(update_fields=["entry", "status"])
    return adjustment


def _post_adjustment(adjustment, actor):
    open_wallet(adjustment.member)
    adjustment.entry = post_wallet_entry(
        member=adjustment.member,
        kind=Kind.ADJUSTMENT,
        principal=adjustment.principal,
        bonus=adjustment.bonus,
        source=adjustment.source,
        actor=actor,
        store=adjustment.store,
        reason=adjustment.reason,
        reference=f"adjustment:{adjustment.pk}",
        key=f"adjustment:{adjustment.pk}",
    )
    adjustment.status = StoredValueAdjustment.Status.POSTED


@transaction.atomic
def approve_stored_value_adjustment(*, adjustment, actor, source) -> StoredValueAdjustment:
    """Post a pending stored-value adjustment. Needs `wallet.approve_storedvalueadjustment` and
    another user than the one who asked (ApprovalNotAllowed); refused if the wallet no longer
    holds what it takes (InsufficientStoredValue), and then it stays pending."""
    adjustment = lock_for_decision(
        adjustment,
        actor=actor,
        permission=APPROVE_ADJUSTMENT,
        refused=AdjustmentApprovalNotAllowed,
    )
    _post_adjustment(adjustment, actor)
    adjustment.save(update_fields=["entry", "status", "decided_by", "decided_at"])
    return adjustment


@transaction.atomic
def reject_stored_value_adjustment(*, adjustment, actor, source) -> StoredValueAdjustment:
    """Refuse a pending stored-value adjustment; no money moves."""
    adjustment = lock_for_decision(
        adjustment,
        actor=actor,
        permission=APPROVE_ADJUSTMENT,
        refused=AdjustmentApprovalNotAllowed,
    )
    adjustment.status = StoredValueAdjustment.Status.REJECTED
    adjustment.save(update_fields=["status", "decided_by", "decided_at"])
    return adjustment


__all__ = [
    "RechargeResult",
    "active_recharge_plans",
    "adjust_stored_value",
    "approve_stored_value_adjustment",
    "approve_withdrawal",
    "pay_with_stored_value",
    "recharge_wallet",
    "refund_stored_value",
    "reject_stored_value_adjustment",
    "reject_withdrawal",
    "request_withdrawal",
    "transfer_stored_value",
]


# --- new members ------------------------------------------------------------------------------


def open_wallet_for_new_member(*, member, opening, source, actor=None):
    """`members.hooks.member_opened`: the new member's wallet, with their opening stored value
    (principal: money paid into the old system or printed on a card batch)."""
    open_wallet(member)
    if opening.stored_value:
        post_wallet_entry(
            member=member,
            kind=Kind.OPENING,
            principal=opening.stored_value,
            bonus=Decimal("0.00"),
            source=source,
            actor=actor,
            store=opening.store,
            terminal=opening.terminal,
            reason=_("Opening balance"),
            reference=opening.reference,
            key=f"opening:wallet:{member.pk}",
            at=opening.at,
        )
    # The wallet cached on `member` while opening it holds the balance before the entry.
    member._state.fields_cache.pop("wallet", None)


def open_wallets_for_imported_members(*, opened, source, actor=None, at=None, **_unused):
    """`members.hooks.members_imported`: wallets and opening stored value, set-based (the
    registration bonus the hook may ask for is points: not the wallet's)."""
    return bulk_post_opening_balances(
        items=((row.member_id, row.stored_value, row.store_id, row.reference) for row in opened),
        source=source,
        actor=actor,
        reason=_("Opening balance"),
        at=at,
    )
