"""The database refuses UPDATE and DELETE of ledger entries, whoever sends them."""

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.utils import IntegrityError, InternalError

from core.models import LedgerEntryBase
from loyalty.ledger import open_account, post_points_entry
from loyalty.models import LotConsumption, PointsEntry
from members.models import TierChange
from wallet.ledger import open_wallet, post_wallet_entry
from wallet.models import WalletEntry

pytestmark = pytest.mark.django_db

REFUSED = (InternalError, IntegrityError)


def _ledger_tables():
    """Every table that is a ledger: entry models (LedgerEntryBase) and the append-only
    records that go with them."""
    models = [m for m in apps.get_models() if issubclass(m, LedgerEntryBase)]
    return sorted({m._meta.db_table for m in [*models, LotConsumption, TierChange]})


def test_every_ledger_table_has_its_append_only_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_append_only' AND NOT t.tgisinternal"
        )
        guarded = {row[0] for row in cursor.fetchall()}
    assert len(_ledger_tables()) >= 5
    assert set(_ledger_tables()) - guarded == set()


def test_updating_a_points_entry_raises(chain):
    member = _member(chain)
    entry = post_points_entry(member=member, points=10, kind="adjust", source="admin")

    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        PointsEntry.objects.filter(pk=entry.pk).update(points=1000)
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        entry.reason = "edited"
        entry.save()

    assert PointsEntry.objects.get(pk=entry.pk).points == 10


def test_deleting_a_wallet_entry_raises(chain):
    member = _member(chain)
    open_wallet(member)
    entry = post_wallet_entry(
        member=member, kind="recharge", principal="50.00", bonus="0.00", source="admin"
    )

    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        WalletEntry.objects.filter(pk=entry.pk).delete()
    sql = f'DELETE FROM "{WalletEntry._meta.db_table}" WHERE id = %s'
    with (
        pytest.raises(REFUSED, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])

    assert WalletEntry.objects.filter(pk=entry.pk).exists()


def _member(chain):
    from members.models import Member

    member = Member.objects.create(
        member_no="M-APPEND", phone="13900009999", home_store=chain["SH001"]
    )
    open_account(member)
    return member
