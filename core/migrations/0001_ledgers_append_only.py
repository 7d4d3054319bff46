# The ledgers are append-only in the database itself, not only by convention: an UPDATE or DELETE
# of an entry raises, whoever sends it (a stray ORM call, an admin action, SQL by hand). A
# correction is a new entry. tests/core/test_append_only.py checks that every ledger table has
# its trigger, so a ledger added later cannot be left out.

from django.db import migrations

TABLES = [
    "loyalty_pointsentry",
    "loyalty_lotconsumption",
    "loyalty_tierchange",  # members.TierChange: the history of tier changes
    "members_walletentry",  # wallet.WalletEntry
    "members_countcardentry",  # countcards.CountCardEntry
]

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'A correction is a new entry.';
END $$
"""


def forwards_sql():
    return [FUNCTION] + [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        for table in TABLES
    ]


def backwards_sql():
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES] + [
        "DROP FUNCTION IF EXISTS ledger_append_only()"
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0008_sales_and_tiers_move_out"),
        ("members", "0006_wallet_and_count_cards_move_out"),
        ("wallet", "0001_initial"),
        ("countcards", "0001_initial"),
    ]

    operations = [migrations.RunSQL(forwards_sql(), backwards_sql())]
