# Data for 0005's new columns (each migration is its own transaction: PostgreSQL refuses to
# ALTER a table with foreign-key checks still pending from an UPDATE in the same one).

from django.db import migrations

FILL_SQL = [
    # The entries each sale and refund produced.
    """
    UPDATE loyalty_sale s SET
        redeem_entry_id = (SELECT e.id FROM loyalty_pointsentry e WHERE e.sale_id = s.id
                           AND e.refund_id IS NULL AND e.kind = 'redeem' ORDER BY e.id LIMIT 1),
        earn_entry_id = (SELECT e.id FROM loyalty_pointsentry e WHERE e.sale_id = s.id
                         AND e.refund_id IS NULL AND e.kind = 'earn' ORDER BY e.id LIMIT 1)
    """,
    """
    UPDATE loyalty_refund r SET
        return_entry_id = (SELECT e.id FROM loyalty_pointsentry e WHERE e.refund_id = r.id
                           AND e.kind = 'redeem_reversal' ORDER BY e.id LIMIT 1),
        reverse_entry_id = (SELECT e.id FROM loyalty_pointsentry e WHERE e.refund_id = r.id
                            AND e.kind = 'earn_reversal' ORDER BY e.id LIMIT 1)
    """,
    # The balances each answered with: its own last entry (a referral bonus paid on the sale
    # included), else the member's last entry before it; the same for stored value.
    """
    UPDATE loyalty_sale s SET points_after = COALESCE(
        (SELECT e.balance_after FROM loyalty_pointsentry e WHERE e.sale_id = s.id
         AND e.refund_id IS NULL ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
        (SELECT e.balance_after FROM loyalty_pointsentry e
         JOIN loyalty_pointsaccount a ON a.id = e.account_id
         WHERE a.member_id = s.member_id AND e.created_at <= s.created_at
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
        0)
    """,
    """
    UPDATE loyalty_sale s SET stored_value_after = COALESCE(
        (SELECT w.principal_after + w.bonus_after FROM members_walletentry w
         WHERE w.id = s.wallet_entry_id),
        (SELECT w.principal_after + w.bonus_after FROM members_walletentry w
         JOIN members_wallet wa ON wa.id = w.wallet_id
         WHERE wa.member_id = s.member_id AND w.created_at <= s.created_at
         ORDER BY w.created_at DESC, w.id DESC LIMIT 1),
        0)
    """,
    """
    UPDATE loyalty_refund r SET points_after = COALESCE(
        (SELECT e.balance_after FROM loyalty_pointsentry e WHERE e.refund_id = r.id
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
        (SELECT e.balance_after FROM loyalty_pointsentry e
         JOIN loyalty_pointsaccount a ON a.id = e.account_id
         WHERE a.member_id = r.member_id AND e.created_at <= r.created_at
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
        0)
    """,
    """
    UPDATE loyalty_refund r SET stored_value_after = COALESCE(
        (SELECT w.principal_after + w.bonus_after FROM members_walletentry w
         JOIN loyalty_sale s ON s.id = r.sale_id
         WHERE r.stored_value_returned > 0
           AND w.key = 'payment:' || s.wallet_entry_id || ':refund:' || r.id),
        (SELECT w.principal_after + w.bonus_after FROM members_walletentry w
         JOIN members_wallet wa ON wa.id = w.wallet_id
         WHERE wa.member_id = r.member_id AND w.created_at <= r.created_at
         ORDER BY w.created_at DESC, w.id DESC LIMIT 1),
        0)
    """,
    # A tier change caused by a sale names it as STORE/RECEIPT.
    """
    UPDATE loyalty_tierchange t SET reference = left(st.code || '/' || s.receipt_no, 100)
    FROM loyalty_sale s JOIN stores_store st ON st.id = s.store_id
    WHERE t.sale_id = s.id
    """,
    # Monthly tier progress: sales add, refunds take off, in the month (Shanghai) they happened.
    """
    INSERT INTO loyalty_tierprogress (account_id, month, spend, points)
    SELECT a.id, m.month, SUM(m.spend), SUM(m.points)
    FROM (
        SELECT member_id, date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date
               AS month, amount_due AS spend, points_earned AS points
        FROM loyalty_sale
        UNION ALL
        SELECT member_id, date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date,
               -amount_due, -points_reversed
        FROM loyalty_refund
    ) m JOIN loyalty_pointsaccount a ON a.member_id = m.member_id
    GROUP BY a.id, m.month
    """,
]


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0005_sale_names_its_entries")]

    operations = [migrations.RunSQL(FILL_SQL, migrations.RunSQL.noop)]
