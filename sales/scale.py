"""Sales at chain scale for `manage.py seed_scale`: the Sale and SaleLine rows of a history
whose ledger entries the ledgers' own loaders wrote (loyalty.ledger.bulk_load_points,
wallet.ledger.bulk_load_wallets), from the same staging table."""

from django.db import connection

from core.sql import insert_select

from .models import Sale, SaleLine


def next_sale_id_sql():
    return f"nextval(pg_get_serial_sequence('{Sale._meta.db_table}', 'id'))"


def insert_sales(*, sales) -> int:
    """One Sale with one SaleLine per row of `sales` (sale_id, member_id, store_id, receipt_no,
    at, total, offset_amount, stored_value, redeem, earn, redeem_entry_id, earn_entry_id,
    wallet_entry_id, points_after, stored_value_after, tier_id, sku, category)."""
    target, columns, values, defaults = insert_select(
        Sale,
        {
            "id": "s.sale_id",
            "store": "s.store_id",
            "member": "s.member_id",
            "receipt_no": "s.receipt_no",
            "total": "s.total",
            "offset_amount": "s.offset_amount",
            "coupon_discount": "0",
            "amount_due": "s.total - s.offset_amount - s.stored_value",
            "stored_value_amount": "s.stored_value",
            "points_earned": "s.earn",
            "points_redeemed": "s.redeem",
            "breakdown": "'{}'::jsonb",
            "tier_before": "s.tier_id",
            "tier_after": "s.tier_id",
            "wallet_entry": "CASE WHEN s.stored_value > 0 THEN s.wallet_entry_id END",
            "redeem_entry": "CASE WHEN s.redeem > 0 THEN s.redeem_entry_id END",
            "earn_entry": "CASE WHEN s.earn > 0 THEN s.earn_entry_id END",
            "points_after": "s.points_after",
            "stored_value_after": "s.stored_value_after",
            "fingerprint": "''",
            "source": "'till'",
            "created_at": "s.at",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM {sales} s ORDER BY s.sale_id",
            defaults,
        )
        count = cursor.rowcount
        target, columns, values, defaults = insert_select(
            SaleLine,
            {
                "sale": "s.sale_id",
                "line_no": "1",
                "sku": "s.sku",
                "name": "s.category",
                "category": "s.category",
                "qty": "1",
                "amount": "s.total",
                "points_earned": "s.earn",
                "points_redeemed": "s.redeem",
                "offset_amount": "s.offset_amount",
                "stored_value_amount": "s.stored_value",
                "coupon_discount": "0",
                "earning": "'{}'::jsonb",
            },
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {values} FROM {sales} s ORDER BY s.sale_id",
            defaults,
        )
    return count
