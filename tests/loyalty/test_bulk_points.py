"""The set-based writers of the points ledger: many earnings at once (the import's
registration bonus), and the expiry's chunks side by side in threads."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.models import Source
from loyalty.ledger import bulk_post_points, expire_points, post_points_entry
from loyalty.models import PointsAccount, PointsEntry, PointsLot
from members.services import open_member

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_bulk_earnings_pay_a_debt_first_and_skip_keys_already_posted(chain, check_ledgers):
    debtor = open_member(phone="13800000001", home_store=chain["SH001"], source=Source.ADMIN)
    other = open_member(phone="13800000002", home_store=chain["SH001"], source=Source.ADMIN)
    post_points_entry(
        member=debtor, points=-30, kind="earn_reversal", source="till", allow_negative=True
    )
    rows = [
        (debtor.pk, 50, "k:debtor", "bonus", "ref", None),
        (other.pk, 20, "k:other:1", "bonus", "ref", None),
        (other.pk, 5, "k:other:2", "bonus", "ref", None),
    ]
    assert bulk_post_points(rows=rows, kind="bonus", source=Source.IMPORT) == 3
    assert bulk_post_points(rows=rows, kind="bonus", source=Source.IMPORT) == 0  # keys taken

    debtor_account = PointsAccount.objects.get(member=debtor)
    assert (debtor_account.balance, debtor_account.lifetime_earned) == (20, 50)
    assert PointsLot.objects.get(account=debtor_account).remaining == 20  # 30 paid the debt
    entries = PointsEntry.objects.filter(account__member=other, kind="bonus").order_by("id")
    assert [e.balance_after for e in entries] == [20, 25]
    check_ledgers()


@pytest.mark.django_db
def test_bulk_points_refuses_a_spending_kind(chain):
    with pytest.raises(ValueError):
        bulk_post_points(rows=[], kind="redeem", source=Source.IMPORT)


@pytest.mark.django_db(transaction=True)
def test_expiry_chunks_run_side_by_side_and_expire_each_lot_once(check_ledgers):
    from tests import factories

    store = factories.make_chain()["SH001"]
    members = [
        open_member(phone=f"1380000{i:04d}", home_store=store, source=Source.ADMIN)
        for i in range(12)
    ]
    due = datetime(2030, 6, 1, tzinfo=SH)
    for member in members:
        for points in (10, 7):
            post_points_entry(
                member=member, points=points, kind="opening", source="command", expires_at=due
            )
    totals = expire_points(as_of=date(2031, 1, 1), source=Source.TASK, chunk_size=2, workers=3)
    assert totals == {"lots": 24, "points": 12 * 17, "accounts": 12}
    assert (
        expire_points(as_of=date(2031, 1, 1), source=Source.TASK, chunk_size=2, workers=3)["lots"]
        == 0
    )
    assert PointsEntry.objects.filter(kind="expire").count() == 24
    assert not PointsAccount.objects.exclude(balance=0).exists()
    check_ledgers()
