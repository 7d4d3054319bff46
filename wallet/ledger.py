"""The one writer of the stored-value ledger.

Every wallet service (opening balance, recharge, payment, refund, withdrawal, transfer,
adjustment) ends in `post_wallet_entry`; nothing else inserts WalletEntry rows or changes a
Wallet (a test walks the code for other writers; the database refuses UPDATE and DELETE of
entries).
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.money import CENT
from core.sql import default_columns

from .exceptions import InsufficientStoredValue, WalletOperationRefused
from .models import Wallet, WalletEntry

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
        raise InsufficientStoredValue.of(balance=wallet.balance, wanted=-(principal + bonus))
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


# --------------------------------------------------------------------------- bulk opening


def bulk_post_opening_balances(*, items, source, actor=None, reason="", at=None) -> int:
    """Open wallets for new members and post their opening stored value, set-based.

    `items`: iterable of (member_id, amount, store_id, reference); the amount is principal
    (money the member paid into the old system). Only members without a wallet are touched (the
    wallet is created here, with an OPENING entry when amount > 0), so a rerun adds nothing.
    Returns the number of entries posted. COPY into a temporary table, then one INSERT per
    table.
    """
    from django.db import connection

    at = at or timezone.now()
    actor_id = getattr(actor, "pk", actor)
    with transaction.atomic(), connection.cursor() as cursor:
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


# --------------------------------------------------------------------------- history at scale


def next_entry_id_sql():
    """SQL giving a fresh stored-value entry id (a set-based loader assigns ids first)."""
    return f"nextval(pg_get_serial_sequence('{WalletEntry._meta.db_table}', 'id'))"


def bulk_load_wallets(*, openings, sales, source, now=None) -> dict:
    """Write the stored-value side of a history set-based (`seed_scale`): a wallet per member,
    the opening entries (principal) and the payments of the sales, each entry's running
    `principal_after` computed in the INSERT (entries are append-only).

    `openings`: a table (member_id, store_id, at, stored_value, wallet_entry_id), one row per
    member, none of whom has a wallet yet; `sales`: a table (member_id, store_id, receipt_no,
    at, stored_value, wallet_entry_id) whose payments the opening principal covers."""
    from django.db import connection

    from core.sql import column, insert_select, table

    now = now or timezone.now()
    totals = {}
    with connection.cursor() as cursor:
        target, columns, values, defaults = insert_select(
            Wallet,
            {
                "member": "o.member_id",
                "principal": "o.stored_value - COALESCE(p.paid, 0)",
                "bonus": "0",
                "updated_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM {openings} o LEFT JOIN ("
            f"SELECT member_id, SUM(stored_value) AS paid FROM {sales} GROUP BY member_id) p "
            "ON p.member_id = o.member_id ORDER BY o.member_id",
            {**defaults, "now": now},
        )
        totals["wallets"] = cursor.rowcount
        moves = f"""
            SELECT o.member_id, o.wallet_entry_id AS id, '{WalletEntry.Kind.OPENING.value}' AS kind,
                   o.stored_value AS amount, o.at, o.store_id,
                   'opening:wallet:' || o.member_id AS key, '' AS reference
            FROM {openings} o WHERE o.stored_value > 0
            UNION ALL
            SELECT s.member_id, s.wallet_entry_id, '{WalletEntry.Kind.PAYMENT.value}',
                   -s.stored_value, s.at, s.store_id,
                   'sale:' || s.store_id || ':' || s.receipt_no || ':sv', s.receipt_no
            FROM {sales} s WHERE s.stored_value > 0
        """
        target, columns, values, defaults = insert_select(
            WalletEntry,
            {
                "id": "m.id",
                "wallet": "w.id",
                "kind": "m.kind",
                "principal": "m.amount",
                "bonus": "0",
                "principal_after": (
                    "SUM(m.amount) OVER (PARTITION BY m.member_id ORDER BY m.at, m.id)"
                ),
                "bonus_after": "0",
                "store": "m.store_id",
                "source": "%(source)s",
                "reason": "''",
                "reference": "left(m.reference, 100)",
                "key": "m.key",
                "created_at": "m.at",
            },
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM ({moves}) m "
            f"JOIN {table(Wallet)} w ON w.{column(Wallet, 'member')} = m.member_id ORDER BY m.id",
            {**defaults, "source": source},
        )
        totals["entries"] = cursor.rowcount
    return totals
