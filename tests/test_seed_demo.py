"""The demo shows the product: cards from card batches, members in every tier, two head-office
users for maker-checker, a cashier login per store (phone masking), opening balances dated
before the history, and every login printed (issue 12). One seeding, several checks: seeding
is the slow part."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Min

from loyalty.models import PointsEntry
from members.models import Card, CardBatch, Member, Tier
from stores.models import Staff
from stores.roles import CASHIER, HEAD_OFFICE
from wallet.models import WalletEntry

pytestmark = pytest.mark.django_db


def seed(members=21):
    out = io.StringIO()
    call_command("seed_demo", members=members, stdout=out)
    return out.getvalue()


def check_tiers():
    assert set(Tier.objects.values_list("window", flat=True)) == {Tier.Window.ROLLING}
    counts = {tier.code: tier.members.count() for tier in Tier.objects.all()}
    assert set(counts) == {"normal", "silver", "gold", "diamond"}
    assert all(counts.values()), counts  # members in every tier


def check_cards():
    assert CardBatch.objects.count() == 2
    holders = Card.objects.filter(status=Card.Status.ACTIVE, batch__isnull=False)
    assert holders.count() >= 10
    assert holders.filter(batch__initial_tier__code="silver").exists()
    assert Card.objects.filter(status=Card.Status.UNISSUED).exists()  # left for 开卡


def check_openings_come_first():
    firsts = (
        PointsEntry.objects.exclude(kind="opening")
        .values("account__member")
        .annotate(first=Min("created_at"))
    )
    first_move = {row["account__member"]: row["first"] for row in firsts}
    openings = list(
        PointsEntry.objects.filter(kind="opening").values_list("account__member", "created_at")
    )
    assert openings and all(at < first_move[m] for m, at in openings if m in first_move)
    for entry in WalletEntry.objects.filter(kind="opening"):
        later = WalletEntry.objects.filter(wallet=entry.wallet).exclude(pk=entry.pk)
        assert all(other.created_at > entry.created_at for other in later)
    for member in Member.objects.all():
        assert member.opened_at <= first_move.get(member.pk, member.opened_at)


def can_log_in(user, password):
    # (django-axes' backend wants a real request; the password and the flags are what count)
    return user.check_password(password) and user.is_active and user.is_staff


def check_logins(output):
    User = get_user_model()
    approver = User.objects.get(username="hq_approver")
    assert can_log_in(approver, "approver-demo-123")
    assert approver.groups.filter(name=HEAD_OFFICE).exists() and not approver.is_superuser
    assert approver.has_perm("loyalty.approve_adjustment")
    for code in ("SH001", "SH002", "BJ001", "GZ001"):
        cashier = User.objects.get(username=f"{code.lower()}_cashier")
        assert can_log_in(cashier, "cashier-demo-123")
        assert cashier.groups.filter(name=CASHIER).exists()
        assert Staff.objects.get(user=cashier).store.code == code
        assert not cashier.has_perm("members.view_full_phone")  # sees 138****5678
    for username in ("admin", "hq_approver", "sh001_manager", "sh001_cashier", "gz001_cashier"):
        assert f"{username} / " in output


def test_the_demo_shows_the_product_and_seeds_once():
    output = seed()

    check_tiers()
    check_cards()
    check_openings_come_first()
    check_logins(output)
    assert "笔演示销售" in output and "demo sales" not in output and "loyalty:" not in output
    call_command("check_ledgers", verbosity=0)

    counts = (Member.objects.count(), PointsEntry.objects.count(), Card.objects.count())
    again = seed()
    assert (Member.objects.count(), PointsEntry.objects.count(), Card.objects.count()) == counts
    assert "sh001_cashier / " in again
