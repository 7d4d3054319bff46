"""Races around the checkout, with real threads on PostgreSQL: a tier change by head office
while a sale waits, two sales crossing one threshold, one receipt posted twice by direct
callers, and a referred member's first sale during the nightly expiry."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from loyalty.ledger import open_account
from loyalty.models import BonusRule, PointsAccount, PointsEntry
from members.models import Member, TierChange
from members.services import change_tier
from sales.models import Sale
from sales.services import post_sale
from tests.loyalty.conftest import line

pytestmark = pytest.mark.django_db(transaction=True)


class AccountHeld:
    """Holds a points account's row lock from another connection until released, so the test
    decides when a waiting checkout may go on."""

    def __init__(self, *member_ids):
        self.member_ids = member_ids
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        try:
            with transaction.atomic():
                list(
                    PointsAccount.objects.select_for_update()
                    .filter(member_id__in=self.member_ids)
                    .order_by("id")
                )
                self.locked.set()
                self.release.wait(30)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)


def in_thread(fn):
    """Start `fn` in a thread of its own (own connection); .join() returns its result or the
    exception it raised."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as exc:  # handed to the test
            box["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    class Handle:
        def join(self):
            thread.join(20)
            return box.get("result")

    return Handle()


def waiting_for_a_lock(count=1, seconds=30):
    """Wait until `count` other backends are waiting for a row lock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return True
        time.sleep(0.05)
    return False


def sell(member, store, receipt, amount="100.00", **kwargs):
    return post_sale(
        store=store,
        member=member,
        receipt_no=receipt,
        lines=[line(amount=amount)],
        total=Decimal(amount),
        source="till",
        **kwargs,
    )


def test_a_checkout_never_writes_its_tier_over_a_change_head_office_made_while_it_waited(
    chain, rules, member, head_office, check_ledgers
):
    sell(member, chain["SH001"], "R1", amount="900.00")
    looked_up = Member.objects.get(pk=member.pk)  # what the till's lookup read: 普通会员

    with AccountHeld(member.pk):
        checkout = in_thread(lambda: sell(looked_up, chain["SH001"], "R2", amount="200.00"))
        assert waiting_for_a_lock()
        change_tier(
            member=Member.objects.get(pk=member.pk),
            tier=rules["diamond"],
            reason="VIP",
            source="admin",
            actor=head_office,
        )
    sale = checkout.join()

    assert isinstance(sale, Sale), sale
    member.refresh_from_db()
    assert member.tier == rules["diamond"]
    assert not sale.tier_changed and sale.tier_before == rules["diamond"]
    assert list(TierChange.objects.values_list("reason", flat=True)) == ["manual"]
    check_ledgers()


def test_two_sales_crossing_one_threshold_log_one_upgrade(chain, rules, member, check_ledgers):
    sell(member, chain["SH001"], "R1", amount="900.00")
    looked_up = [Member.objects.get(pk=member.pk) for _ in range(2)]

    with AccountHeld(member.pk):
        checkouts = [
            in_thread(lambda m=m, n=n: sell(m, chain["SH001"], f"R{n + 2}", amount="200.00"))
            for n, m in enumerate(looked_up)
        ]
        assert waiting_for_a_lock(2)
    sales = [c.join() for c in checkouts]

    assert all(isinstance(s, Sale) for s in sales), sales
    changes = list(TierChange.objects.all())
    assert [(c.reason, c.from_tier, c.to_tier) for c in changes] == [
        ("upgrade", rules["normal"], rules["silver"])
    ]
    assert sorted(s.tier_changed for s in sales) == [False, True]
    check_ledgers()


def test_a_direct_caller_posting_one_receipt_twice_gets_the_first_sale(
    chain, rules, member, check_ledgers
):
    looked_up = [Member.objects.get(pk=member.pk) for _ in range(2)]

    with AccountHeld(member.pk):
        posts = [in_thread(lambda m=m: sell(m, chain["SH001"], "SAME")) for m in looked_up]
        assert waiting_for_a_lock(2)
    first, second = (p.join() for p in posts)

    assert isinstance(first, Sale) and isinstance(second, Sale), (first, second)
    assert first.pk == second.pk
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert Sale.objects.count() == 1
    assert PointsAccount.objects.get(member=member).balance == 100
    check_ledgers()


def test_one_receipt_for_two_members_at_once_is_one_sale_and_one_refusal(
    chain, rules, make_member, check_ledgers
):
    a, b = make_member(tier=rules["normal"]), make_member(tier=rules["normal"])

    with AccountHeld(a.pk, b.pk):
        posts = [
            in_thread(lambda: sell(a, chain["SH001"], "SAME")),
            in_thread(lambda: sell(b, chain["SH001"], "SAME")),
        ]
        assert waiting_for_a_lock(2)
    results = [p.join() for p in posts]

    assert sorted(type(r).__name__ for r in results) == ["DuplicateReceipt", "Sale"], results
    assert Sale.objects.count() == 1
    check_ledgers()


def test_a_referred_members_first_sale_during_expiry_does_not_deadlock(
    chain, rules, make_member, check_ledgers
):
    BonusRule.objects.create(kind="referral", name="推荐有礼", points=50, referrer_points=100)
    referrer = make_member(tier=rules["normal"])
    newcomer = make_member(tier=rules["normal"], referrer=referrer)
    open_account(newcomer)
    accounts = dict(PointsAccount.objects.values_list("member_id", "id"))
    assert accounts[referrer.pk] < accounts[newcomer.pk]  # the referrer's account is older

    # The nightly expiry locks a chunk of accounts in id order: the referrer's first...
    expiry_locked_first, sale_waiting = threading.Event(), threading.Event()

    def expiry_chunk():
        with transaction.atomic():
            list(PointsAccount.objects.select_for_update().filter(member=referrer))
            expiry_locked_first.set()
            sale_waiting.wait(30)
            # ...then the next account of its chunk, the new member's.
            list(PointsAccount.objects.select_for_update().filter(member=newcomer))
        return "expired"

    expiry = in_thread(expiry_chunk)
    assert expiry_locked_first.wait(30)
    checkout = in_thread(lambda: sell(newcomer, chain["SH001"], "FIRST"))
    assert waiting_for_a_lock()
    sale_waiting.set()

    assert expiry.join() == "expired"
    sale = checkout.join()
    assert isinstance(sale, Sale), sale
    assert sale.referral_bonus
    assert PointsEntry.objects.filter(kind="bonus").count() == 2
    check_ledgers()
