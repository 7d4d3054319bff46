"""`seed_scale` at a small size: consistent ledgers, the story it promises, cards that pass
the Luhn check, pinyin initials that match the names."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum

from loyalty.models import LotConsumption, PointsAccount, PointsEntry, PointsLot, TierProgress
from members.models import Card, Member
from members.models.cards import is_valid_card_no
from members.models.member import name_initials
from sales.models import Sale
from wallet.models import Wallet, WalletEntry

pytestmark = pytest.mark.django_db


def test_seed_scale_builds_a_consistent_chain(check_ledgers):
    # With every foreign key checked: the fast path writes the same rows without the checks.
    call_command(
        "seed_scale", "--members", "300", "--sales-per-member", "4", "--stores", "8",
        "--check-references",
    )  # fmt: skip

    assert Member.objects.count() == 300
    assert Card.objects.filter(status="active").count() == 300
    assert all(is_valid_card_no(no) for no in Card.objects.values_list("card_no", flat=True))
    assert all(name_initials(m.name) == m.name_initials for m in Member.objects.all())
    assert PointsAccount.objects.count() == Wallet.objects.count() == 300
    sales = Sale.objects.count()
    assert 1000 < sales < 1500  # i mod 9 sales each: 4 on average
    assert PointsEntry.objects.filter(kind="earn").count() == sales
    redeemed = Sale.objects.filter(points_redeemed__gt=0)
    assert LotConsumption.objects.count() == redeemed.count() > 0
    assert PointsEntry.objects.filter(kind="opening").count() == 300
    # Every sale names its entries, and the balances it printed are the ledger's.
    sale = redeemed.select_related("earn_entry", "redeem_entry").order_by("-id").first()
    assert sale.earn_entry.balance_after == sale.points_after
    assert sale.redeem_entry.points == -sale.points_redeemed
    paid = Sale.objects.filter(stored_value_amount__gt=0).count()
    assert WalletEntry.objects.filter(kind="payment").count() == paid > 0
    spend = TierProgress.objects.aggregate(s=Sum("spend"))["s"]
    assert spend == PointsAccount.objects.aggregate(s=Sum("qualifying_spend"))["s"] > 0
    # One lot per earning, opening lots due first (at the nightly expiry after this year).
    assert PointsLot.objects.count() == PointsEntry.objects.filter(points__gt=0).count()
    opening_expiry = PointsLot.objects.filter(entry__kind="opening").aggregate(
        n=Count("expires_at", distinct=True)
    )
    assert opening_expiry["n"] == 1
    check_ledgers()


def test_the_fast_seed_writes_the_same_chain(check_ledgers):
    """Without the row-by-row foreign-key checks where this database role may turn them off
    (a superuser, or a role granted SET on session_replication_role), with them where it may
    not (the suite's own role, CI's): the same chain either way, and the session as it was."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR has_parameter_privilege('session_replication_role', 'SET') "
            "FROM pg_roles WHERE rolname = current_user"
        )
        privileged = cursor.fetchone()[0]
    out = io.StringIO()

    call_command(
        "seed_scale", "--members", "120", "--sales-per-member", "2", "--stores", "4", stdout=out
    )

    assert ("foreign keys are checked row by row" in out.getvalue()) is not privileged
    assert PointsAccount.objects.count() == 120
    check_ledgers()
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"  # the checks are back on for the session


def test_seed_scale_refuses_a_database_with_members(chain):
    from core.models import Source
    from members.services import open_member

    open_member(phone="13800000001", home_store=chain["SH001"], source=Source.ADMIN)
    with pytest.raises(CommandError):
        call_command("seed_scale", "--members", "10")
