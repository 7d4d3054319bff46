"""Due lots for the expiry benchmarks, generated set-based in SQL: one opening entry and one
lot per (member, n), each entry with its running balance written in the same INSERT (entries
are append-only), all due within the 180 days before today (so an expiry as of today, or any
later day, takes them). Goes through the points ledger's own loader
(loyalty.ledger.bulk_load_points) from a staging table, so check_ledgers agrees."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone


def generate_due_lots(members, per_member):
    """`per_member` due lots (10-16 points each) for every member of the queryset `members`
    (none of whom has a points account yet). Returns how many lots were written."""
    from core.models import Source
    from loyalty.ledger import bulk_load_points, next_entry_id_sql

    sql, params = members.values("pk", "home_store_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _due_open, _due_sales")
        # Each lot an "opening" of its own would need an account per lot: instead one opening
        # per member holding the first lot, and the rest as earn "sales" (the loader's input
        # shape); every lot is due between 180 days and a day before today.
        cursor.execute(
            "CREATE TEMP TABLE _due_open AS SELECT m.pk AS member_id, m.home_store_id AS "
            "store_id, now() - interval '2 years' AS at, 10 + m.pk %% 7 AS points, "
            f"{next_entry_id_sql()} AS entry_id, "
            "now() - (1 + m.pk %% 180) * interval '1 day' AS expires_at "
            f"FROM ({sql}) m",
            params,
        )
        cursor.execute(
            "CREATE TEMP TABLE _due_sales AS SELECT o.member_id, o.store_id, "
            "'D' || o.member_id || '-' || n AS receipt_no, "
            "o.at + n * interval '1 day' AS at, 0::numeric AS total, 0::numeric AS "
            "offset_amount, 0 AS redeem, 10 + (o.member_id + n) %% 7 AS earn, NULL::bigint AS "
            f"redeem_entry_id, {next_entry_id_sql()} AS earn_entry_id, "
            "now() - (1 + (o.member_id + n) %% 180) * interval '1 day' "
            "AS expires_at FROM _due_open o CROSS JOIN generate_series(1, %s - 1) n",
            [per_member],
        )
        totals = bulk_load_points(
            openings="_due_open",
            sales="_due_sales",
            source=Source.COMMAND,
            now=timezone.now() - timedelta(days=730),
        )
        cursor.execute("DROP TABLE _due_open, _due_sales")
        for table in ("loyalty_pointslot", "loyalty_pointsentry", "loyalty_pointsaccount"):
            cursor.execute(f"ANALYZE {table}")
    return totals["lots"]
