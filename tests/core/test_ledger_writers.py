"""One writer per ledger: only the ledger's own module writes its tables (a syntax-tree scan of
the whole project), and the scan itself catches each way a stray write could be written."""

from pathlib import Path

import pytest

from countcards.models import CountCardEntry, MemberCountCard
from coupons.models import Coupon, CouponEvent, CouponHolding
from loyalty.models import LotConsumption, PointsAccount, PointsEntry, PointsLot, TierProgress
from members.models import TierChange
from tests.writer_scan import scan
from wallet.models import Wallet, WalletEntry

ROOT = Path(__file__).resolve().parents[2]
# Each ledger's models (the balance row, its entries and what moves with them) and the one
# module that may write them.
WRITERS = {
    "loyalty/ledger.py": [PointsAccount, PointsEntry, PointsLot, LotConsumption, TierProgress],
    "wallet/ledger.py": [Wallet, WalletEntry],
    "countcards/ledger.py": [MemberCountCard, CountCardEntry],
    "members/services/members.py": [TierChange],
    "coupons/ledger.py": [Coupon, CouponEvent, CouponHolding],
}


def _guarded(models):
    return [m.__name__ for m in models], [m._meta.db_table for m in models]


def _project_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "benchmarks/", ".pgdata/")):
            continue
        if "/migrations/" in rel:
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_it_finds_no_ledger_writer_outside_the_ledger_modules():
    offenders = []
    for rel, source in _project_files():
        for writer, models in WRITERS.items():
            if rel == writer:
                continue
            names, tables = _guarded(models)
            for line, why in scan(source, models=names, tables=tables, filename=rel):
                offenders.append(f"{rel}:{line}: {why} (only {writer} may)")
    assert offenders == []


def test_it_scans_every_app_module():
    scanned = {rel.split("/")[0] for rel, _source in _project_files()}
    assert {"core", "members", "loyalty", "wallet", "countcards", "coupons", "sales"} <= scanned


STRAY_WRITES = {
    "a two-line ORM update": """
def f():
    PointsAccount.objects.filter(pk=1).update(
        balance=5)
""",
    "an update through a variable": """
def f():
    accounts = PointsAccount.objects.filter(member_id=3)
    accounts.update(balance=0)
""",
    "a save of an instance read earlier": """
def f(member):
    account = PointsAccount.objects.get(member=member)
    account.balance += 5
    account.save()
""",
    "a bulk insert": """
def f(rows):
    PointsEntry.objects.bulk_create(
        [x for x in rows]
    )
""",
    "a row built outside the writer": """
def f(e, lot):
    return LotConsumption(entry=e, lot=lot, points=3)
""",
    "insert_sql of a ledger model": """
from core.sql import insert_sql
def f(entries):
    sql, params = insert_sql(PointsEntry, entries)
""",
    "insert_select_sql of a ledger model": """
from core.sql import insert_select_sql
def f():
    sql, params = insert_select_sql(PointsEntry, select_from="x")
""",
    "an f-string INSERT": """
def f(cursor):
    cursor.execute(f"INSERT INTO {PointsEntry._meta.db_table} (points) VALUES (1)")
""",
    "an f-string UPDATE over two lines": """
def f(cursor):
    table = PointsLot._meta.db_table
    cursor.execute(
        f"UPDATE {PointsLot._meta.db_table} "
        "SET remaining = 0"
    )
""",
    "a literal DELETE": """
def f(cursor):
    cursor.execute('DELETE FROM "loyalty_pointsentry" WHERE id = 1')
""",
    "a concatenated INSERT": """
def f(cursor):
    cursor.execute("INSERT INTO " + PointsEntry._meta.db_table + " VALUES (1)")
""",
    "a %-formatted UPDATE": """
def f(cursor):
    cursor.execute("UPDATE %s SET balance = 0" % PointsAccount._meta.db_table)
""",
    "a delete over a related queryset": """
def f():
    for lot in PointsLot.objects.filter(remaining=0):
        lot.delete()
""",
}

INNOCENT = {
    "a model class": "class PointsEntry(models.Model):\n    pass\n",
    "a read": "def f():\n    return PointsAccount.objects.filter(balance__lt=0).count()\n",
    "a read with a lock": (
        "def f(cursor):\n"
        '    cursor.execute(f"SELECT * FROM {PointsAccount._meta.db_table} FOR UPDATE")\n'
    ),
    "another model's write": "def f():\n    Sale.objects.filter(pk=1).update(total=0)\n",
    "a sales table insert": (
        "def f(cursor):\n    cursor.execute('INSERT INTO loyalty_sale VALUES (1)')\n"
    ),
    "a write of another model that filters by an entry": (
        "def f(e):\n    Sale.objects.filter(redeem_entry__in=PointsEntry.objects.all())"
        ".update(total=0)\n"
    ),
}


@pytest.mark.parametrize("source", STRAY_WRITES.values(), ids=STRAY_WRITES.keys())
def test_the_scan_catches(source):
    names, tables = _guarded(WRITERS["loyalty/ledger.py"])
    assert scan(source, models=names, tables=tables) != []


@pytest.mark.parametrize("source", INNOCENT.values(), ids=INNOCENT.keys())
def test_the_scan_lets_pass(source):
    names, tables = _guarded(WRITERS["loyalty/ledger.py"])
    assert scan(source, models=names, tables=tables) == []


def test_the_scan_fails_on_a_stray_writer_in_a_real_app_module():
    source = (ROOT / "sales" / "services.py").read_text(encoding="utf-8")
    stray = source + "\n\ndef _oops(member):\n    PointsAccount.objects.filter(\n" + (
        "        member=member\n    ).update(balance=0)\n"
    )
    names, tables = _guarded(WRITERS["loyalty/ledger.py"])

    assert scan(source, models=names, tables=tables) == []
    assert scan(stray, models=names, tables=tables) != []
