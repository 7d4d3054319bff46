"""Coupons under concurrency, with real threads on PostgreSQL: one coupon raced by many tills,
a total of one raced by many issuers, a per-member limit raced by one member's issuers, and
points exchanged for coupons by many tills at once (never overdrawn, never past the total)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.models import Source
from coupons.exceptions import CouponNotAvailable, CouponNotUsable
from coupons.models import Coupon, CouponEvent, CouponTemplate
from coupons.services import exchange_points_for_coupon, issue_coupon, print_coupons
from loyalty.exceptions import InsufficientPoints
from loyalty.models import PointsAccount
from sales.models import Sale, SaleCoupon
from tests.coupons.conftest import checkout, give, grant_points, line, make_template
from tests.sales.test_races import in_thread, waiting_for_a_lock
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)
TILLS = 6


def test_one_member_coupon_raced_by_many_tills_is_used_by_one_sale(
    rules, member, cash10, check_ledgers
):
    coupon = give(cash10, member)
    receipts = iter(range(TILLS))

    results = run_in_threads(
        lambda: checkout(
            member, [line("A", "80.00")], coupons=[coupon], receipt_no=f"RACE-{next(receipts)}"
        ),  # fmt: skip
        TILLS,
    )

    sales = [r for r in results if isinstance(r, Sale)]
    refused = [r for r in results if isinstance(r, CouponNotUsable)]
    assert len(sales) == 1 and len(refused) == TILLS - 1, results
    assert SaleCoupon.objects.filter(coupon=coupon).count() == 1
    assert CouponEvent.objects.filter(coupon=coupon, kind=CouponEvent.Kind.USED).count() == 1
    check_ledgers()


class CouponRowHeld:
    """Holds a coupon's row lock from another connection (changing nothing), so every till
    has read the coupon as available and waits at its conditional update when it is let go:
    the update, not the read, must decide which sale wins."""

    def __init__(self, code):
        self.code = code
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        try:
            with transaction.atomic():
                list(Coupon.objects.select_for_update().filter(code=self.code))
                self.locked.set()
                self.release.wait(20)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(20)


def test_one_printed_coupon_raced_by_tills_of_different_members_is_used_once(
    rules, make_member, cash10, check_ledgers
):
    # Different members: no account lock in common; the conditional update decides.
    (code,) = print_coupons(template=cash10, count=1, run="race", source=Source.ADMIN)
    buyers = [make_member() for _ in range(TILLS)]

    with CouponRowHeld(code):
        tills = [
            in_thread(
                lambda b=buyer: checkout(
                    b, [line("A", "80.00")], coupons=[code], receipt_no=f"P-{b.pk}"
                )
            )
            for buyer in buyers
        ]
        assert waiting_for_a_lock(count=TILLS, seconds=20)
    results = [t.join() for t in tills]

    sales = [r for r in results if isinstance(r, Sale)]
    assert len(sales) == 1, results
    assert all(isinstance(r, CouponNotUsable) for r in results if not isinstance(r, Sale))
    assert Sale.objects.count() == 1  # the losers left nothing behind
    assert Coupon.objects.get(code=code).status == Coupon.Status.USED
    check_ledgers()


def test_a_total_of_one_raced_by_many_issuers_issues_one(make_member, check_ledgers):
    scarce = make_template("ONLY1", face_value=Decimal("50"), total_quantity=1)
    members = iter([make_member() for _ in range(TILLS)])

    results = run_in_threads(
        lambda: issue_coupon(
            template=scarce, member=next(members), occasion="race", source=Source.ADMIN
        ),
        TILLS,
    )

    issued = [r for r in results if isinstance(r, Coupon)]
    assert len(issued) == 1, results
    assert all(isinstance(r, CouponNotAvailable) for r in results if not isinstance(r, Coupon))
    scarce.refresh_from_db()
    assert scarce.issued == 1 and Coupon.objects.filter(template=scarce).count() == 1
    check_ledgers()


def test_a_per_member_limit_raced_by_many_issuers_holds(member, check_ledgers):
    limited = make_template("TWO", face_value=Decimal("5"), per_member_limit=2)
    occasions = iter(range(TILLS))

    results = run_in_threads(
        lambda: issue_coupon(
            template=limited, member=member, occasion=f"o{next(occasions)}", source=Source.ADMIN
        ),
        TILLS,
    )

    assert len([r for r in results if isinstance(r, Coupon)]) == 2, results
    assert Coupon.objects.filter(template=limited, owner=member).count() == 2
    limited.refresh_from_db()
    assert limited.issued == 2
    check_ledgers()


def test_exchanges_raced_by_many_tills_never_overdraw_the_points(
    chain, member, cash10, check_ledgers
):
    grant_points(member, 2500)  # enough for two coupons of 1,000
    numbers = iter(range(TILLS))

    results = run_in_threads(
        lambda: exchange_points_for_coupon(
            member=member,
            template=cash10,
            exchange_no=f"X{next(numbers)}",
            store=chain["SH001"],
            source=Source.TILL,
        ),  # fmt: skip
        TILLS,
    )

    done = [r for r in results if isinstance(r, tuple)]
    assert len(done) == 2, results
    assert all(isinstance(r, InsufficientPoints) for r in results if not isinstance(r, tuple))
    assert PointsAccount.objects.get(member=member).balance == 500
    assert Coupon.objects.filter(template=cash10, owner=member).count() == 2
    check_ledgers()


def test_exchanges_raced_for_the_last_coupon_take_points_only_from_the_winner(
    chain, make_member, check_ledgers
):
    last_one = make_template("LAST", face_value=Decimal("20"), exchange_points=500,
                             total_quantity=1)  # fmt: skip
    buyers = [make_member() for _ in range(TILLS)]
    for buyer in buyers:
        grant_points(buyer, 800)
    queue = iter(buyers)

    def till():
        buyer = next(queue)
        return exchange_points_for_coupon(
            member=buyer, template=last_one, exchange_no=f"L{buyer.pk}", store=chain["SH001"],
            source=Source.TILL,
        )  # fmt: skip

    results = run_in_threads(till, TILLS)

    assert len([r for r in results if isinstance(r, tuple)]) == 1, results
    assert all(isinstance(r, CouponNotAvailable) for r in results if not isinstance(r, tuple))
    balances = sorted(
        PointsAccount.objects.filter(member__in=buyers).values_list("balance", flat=True)
    )
    assert balances == [300] + [800] * (TILLS - 1)
    assert CouponTemplate.objects.get(pk=last_one.pk).issued == 1
    check_ledgers()


def test_one_exchange_number_raced_by_retries_exchanges_once(chain, member, cash10, check_ledgers):
    grant_points(member, 5000)

    results = run_in_threads(
        lambda: exchange_points_for_coupon(
            member=member,
            template=cash10,
            exchange_no="SAME",
            store=chain["SH001"],
            source=Source.TILL,
        ),  # fmt: skip
        TILLS,
    )

    coupons = {r[0].pk for r in results if isinstance(r, tuple)}
    assert len(coupons) == 1, results
    assert PointsAccount.objects.get(member=member).balance == 4000
    check_ledgers()
