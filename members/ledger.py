"""The one writer of the stored-value ledger.

Every wallet service (opening balance, recharge, payment, refund, withdrawal, transfer,
adjustment) ends in `post_wallet_entry`; nothing else inserts WalletEntry rows or changes a
Wallet (a test scans the code for other writers).
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.sql import default_columns

from .exceptions import CountCardNotUsable, InsufficientStoredValue, WalletOperationRefused
from .models import CountCardEntry, MemberCountCard, Wallet, WalletEntry

CENT = Decimal("0.01")
# What numeric(12, 2) holds: principal and bonus each stay at or below it.
MAX_BALANCE = Decimal("9999999999.99")


def open_wallet(member):
    """The member's wallet, created empty if it does not exist yet."""
    wallet, _ = Wallet.objects.get_or_create(member=member)
    return wallet


def lock_wallet(member_id):
    """Lock a member's wallet row for the rest of the transaction.

    Serializes two tills paying from one wallet, so neither can spend money the other just took.
    """
    return Wallet.objects.select_for_update().get(member_id=member_id)


@transaction.atomic
def post_wallet_entry(
    *,
    member,
    kind: str,
    principal: Decimal,
    bonus: Decimal,
    source: str,
    actor=None,
    store=None,
    terminal=None,
    reason: str = "",
    reference: str = "",
    key: str | None = None,
    plan=None,
    reverses=None,
    at=None,
) -> WalletEntry:
    """Move principal and bonus (signed amounts) under the wallet's row lock, with an entry.

    Refuses to take either part below zero (InsufficientStoredValue). `key` makes the write
    idempotent: a second call with the same key returns the first entry and changes nothing.
    """
    principal = Decimal(principal).quantize(CENT)
    bonus = Decimal(bonus).quantize(CENT)
    if not principal and not bonus:
        raise ValueError("a wallet entry must move some money")
    wallet = lock_wallet(member.pk)
    if key:
        existing = WalletEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    new_principal = wallet.principal + principal
    new_bonus = wallet.bonus + bonus
    if new_principal > MAX_BALANCE or new_bonus > MAX_BALANCE:
        # Refused as bad input rather than left to fail in the database as a 500.
        raise WalletOperationRefused(
            fields={"amount": [gettext("A stored-value balance cannot exceed %s.") % MAX_BALANCE]}
        )
    if new_principal < 0 or new_bonus < 0:
        raise InsufficientStoredValue(
            fields={"stored_value": [f"{wallet.balance} < {-(principal + bonus)}"]}
        )
    entry = WalletEntry.objects.create(
        wallet=wallet,
        kind=kind,
        principal=principal,
        bonus=bonus,
        principal_after=new_principal,
        bonus_after=new_bonus,
        store=store,
        terminal=terminal,
        actor=actor,
        source=source,
        reason=reason[:200],
        reference=reference[:100],
        key=key or None,
        plan=plan,
        reverses=reverses,
        created_at=at or timezone.now(),
    )
    wallet.principal, wallet.bonus = new_principal, new_bonus
    wallet.save(update_fields=["principal", "bonus", "updated_at"])
    return entry


# --- count cards (wallet helper) -------------------------------------------------------------
# The one writer of the count-card ledger: nothing else inserts CountCardEntry rows or changes
# a MemberCountCard's visits or expiry.


def lock_count_card(card_id):
    """Lock one count card row for the rest of the transaction.

    Serializes two tills using the last visit of one card, so only one of them gets it.
    """
    return MemberCountCard.objects.select_for_update().get(pk=card_id)


@transaction.atomic
def post_count_card_entry(
    *,
    card,
    kind: str,
    visits: int,
    source: str,
    expires_at=None,
    amount=Decimal("0.00"),
    wallet_entry=None,
    actor=None,
    store=None,
    terminal=None,
    reason: str = "",
    reference: str = "",
    key: str | None = None,
    at=None,
) -> CountCardEntry:
    """Move a card's visits (signed) and optionally set its expiry, with an entry, under lock.

    Refuses to take visits below zero (CountCardNotUsable). `key` makes the write idempotent.
    """
    if not isinstance(visits, int) or isinstance(visits, bool):
        raise ValueError("visits must be an int")
    locked = lock_count_card(card.pk)
    if key:
        existing = CountCardEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    new_visits = locked.visits_left + visits
    if new_visits < 0:
        raise CountCardNotUsable(fields={"visits": [f"{locked.visits_left} < {-visits}"]})
    new_expiry = expires_at or locked.expires_at
    entry = CountCardEntry.objects.create(
        card=locked,
        kind=kind,
        visits=visits,
        visits_after=new_visits,
        expires_after=new_expiry,
        amount=Decimal(amount).quantize(CENT),
        wallet_entry=wallet_entry,
        store=store,
        terminal=terminal,
        actor=actor,
        source=source,
        reason=reason[:200],
        reference=reference[:100],
        key=key or None,
        created_at=at or timezone.now(),
    )
    locked.visits_left, locked.expires_at = new_visits, new_expiry
    locked.save(update_fields=["visits_left", "expires_at"])
    card.visits_left, card.expires_at = new_visits, new_expiry
    return entry


# --- end of count cards ----------------------------------------------------------------------


# --------------------------------------------------------------------------- bulk opening


def bulk_post_opening_balances(*, items, source, actor=None, reason="", at=None) -> int:
    """Open wallets for new members and post their opening stored value, set-based.

    `items`: iterable of (member_id, amount, store_id, reference); the amount is principal
    (money the member paid into the old system). Only members without a wallet are touched (the
    wallet is created here, with an OPENING entry when amount > 0), so a rerun adds nothing.
    Returns the number of entries posted. On PostgreSQL: COPY into a temporary table and one
    INSERT per table; elsewhere the same result through `post_wallet_entry` row by row.
    """
    from django.db import connection

    at = at or timezone.now()
    actor_id = getattr(actor, "pk", actor)
    with transaction.atomic():
        if connection.vendor != "postgresql":
            return _bulk_opening_balances_orm(items, source, actor, reason, at)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _opening_wallets (member_id bigint, "
                "amount numeric(12, 2), store_id bigint, reference text) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE _opening_wallets")
            with cursor.copy(
                "COPY _opening_wallets (member_id, amount, store_id, reference) FROM STDIN"
            ) as copy:
                for item in items:
                    copy.write_row(item)
            wallet_other = default_columns(Wallet, {"member_id", "principal", "bonus"})
            entry_given = {
                "wallet_id", "kind", "principal", "bonus", "principal_after", "bonus_after",
                "store_id", "actor_id", "source", "reason", "reference", "key", "created_at",
            }  # fmt: skip
            entry_other = default_columns(WalletEntry, entry_given)
            cursor.execute(
                f"""
                WITH w AS (
                    INSERT INTO {Wallet._meta.db_table} (member_id, principal, bonus
                        {"".join(f", {c}" for c, _ in wallet_other)})
                    SELECT t.member_id, t.amount, 0{"".join(", %s" for _ in wallet_other)}
                    FROM _opening_wallets t
                    ON CONFLICT (member_id) DO NOTHING
                    RETURNING id, member_id
                )
                INSERT INTO {WalletEntry._meta.db_table}
                    (wallet_id, kind, principal, bonus, principal_after, bonus_after, store_id,
                     actor_id, source, reason, reference, key, created_at
                     {"".join(f", {c}" for c, _ in entry_other)})
                SELECT w.id, %s, t.amount, 0, t.amount, 0, t.store_id, %s, %s, %s,
                       left(t.reference, 100), 'opening:wallet:' || t.member_id, %s
                       {"".join(", %s" for _ in entry_other)}
                FROM w JOIN _opening_wallets t ON t.member_id = w.member_id
                WHERE t.amount > 0
                """,
                [value for _, value in wallet_other]
                + [WalletEntry.Kind.OPENING, actor_id, source, reason[:200], at]
                + [value for _, value in entry_other],
            )
            return cursor.rowcount


def _bulk_opening_balances_orm(items, source, actor, reason, at):
    from stores.models import Store

    posted = 0
    for member_id, amount, store_id, reference in items:
        wallet, created = Wallet.objects.get_or_create(member_id=member_id)
        if not created or not amount:
            continue
        post_wallet_entry(
            member=wallet.member,
            kind=WalletEntry.Kind.OPENING,
            principal=amount,
            bonus=Decimal("0.00"),
            source=source,
            actor=actor,
            store=Store(pk=store_id) if store_id else None,
            reason=reason,
            reference=reference,
            key=f"opening:wallet:{member_id}",
            at=at,
        )
        posted += 1
    return posted
