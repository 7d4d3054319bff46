"""Edge cases found in review: each failed before its fix."""

import threading
import time
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError, connection, transaction

from loyalty.ledger import bulk_post_opening_points, expire_points, lock_account
from loyalty.models import BonusRule, PointsAccount, PointsEntry, PointsLot
from members.models import Member
from sales.services import post_sale, refund_sale
from wallet.ledger import open_wallet
from wallet.models import RechargePlan, Wallet
from wallet.services import recharge_wallet

from .conftest import line

SH = ZoneInfo("Asia/Shanghai")


def sell(member, store, receipt="R1", lines=None, at=None, **extra):
    lines = lines or [line()]
    return post_sale(
        store=store,
        member=member,
        receipt_no=receipt,
        lines=lines,
        total=sum(item["amount"] for item in lines),
        source="till",
        at=at,
        **extra,
    )


def test_a_refund_takes_back_points_from_a_lot_past_its_date_before_expiry_runs(
    chain, rules, member, check_ledgers
):
    sale = sell(member, chain["SH001"], at=datetime(2025, 6, 1, 10, tzinfo=SH))
    lot = PointsLot.objects.get(entry=sale.earn_entry)  # expires 2027-01-01 00:00 Shanghai

    # 00:30 on New Year's Day: the lot is due, the nightly job has not run yet.
    refund_sale(sale=sale, refund_no="F1", source="till", at=datetime(2027, 1, 1, 0, 30, tzinfo=SH))
    expire_points(as_of=date(2027, 1, 1), source="task")

    lot.refresh_from_db()
    assert lot.remaining == 0
    assert PointsAccount.objects.get(member=member).balance == 0  # not -100: taken once
    check_ledgers()


def test_one_refund_naming_a_line_twice_cannot_refund_more_than_the_line(chain, rules, member):
    from sales.exceptions import RefundExceedsSale

    sale = sell(
        member,
        chain["SH001"],
        lines=[line("A", "100.00", qty=2)],
        at=datetime(2026, 3, 3, 10, tzinfo=SH),
    )

    with pytest.raises(RefundExceedsSale):
        refund_sale(
            sale=sale,
            refund_no="F1",
            source="till",
            at=datetime(2026, 3, 3, 11, tzinfo=SH),
            lines=[
                {"sku": "A", "qty": 1, "amount": "100.00"},
                {"sku": "A", "qty": 1, "amount": "100.00"},
            ],
        )
    refund = refund_sale(
        sale=sale,
        refund_no="F2",
        source="till",
        at=datetime(2026, 3, 3, 11, tzinfo=SH),
        lines=[
            {"sku": "A", "qty": 1, "amount": "50.00"},
            {"sku": "A", "qty": 1, "amount": "50.00"},
        ],
    )
    assert refund.amount == Decimal("100.00")


def test_a_line_named_twice_is_reversed_whole_without_rounding_loss(
    chain, rules, member, check_ledgers
):
    sale = sell(
        member,
        chain["SH001"],
        lines=[line("A", "3.00", qty=2)],
        at=datetime(2026, 3, 3, 10, tzinfo=SH),
    )
    assert sale.points_earned == 3

    refund = refund_sale(
        sale=sale,
        refund_no="F1",
        source="till",
        lines=[{"sku": "A", "qty": 1}, {"sku": "A", "qty": 1}],
        at=datetime(2026, 3, 3, 11, tzinfo=SH),
    )

    assert (refund.points_reversed, refund.amount) == (3, Decimal("3.00"))
    check_ledgers()


@pytest.mark.parametrize("hour", [7, 10])  # 07:00 Shanghai is still the day before in UTC
def test_the_referral_rule_dates_are_shanghai_days(chain, rules, make_member, tiers, hour):
    referrer = make_member(tier=tiers["normal"])
    new = make_member(tier=tiers["normal"], referrer=referrer)
    BonusRule.objects.create(
        kind=BonusRule.Kind.REFERRAL,
        name="推荐礼",
        points=50,
        referrer_points=100,
        start_date=date(2026, 3, 3),
    )

    sell(new, chain["SH001"], at=datetime(2026, 3, 3, hour, tzinfo=SH).astimezone(ZoneInfo("UTC")))

    assert PointsEntry.objects.filter(key__startswith="bonus:referral:").count() == 2


def test_imported_points_without_a_date_expire_under_the_policy(chain, rules):
    member = Member.objects.create(
        member_no="MX1", phone="13900000999", name="导入", home_store=chain["SH001"]
    )

    bulk_post_opening_points(
        items=[(member.pk, 500, None, chain["SH001"].pk, "row 2")],
        source="import",
        at=datetime(2026, 3, 3, 10, tzinfo=SH),
    )

    lot = PointsLot.objects.get(account__member=member)
    assert lot.expires_at == datetime(2028, 1, 1, tzinfo=SH)  # end of the year after next


@pytest.mark.django_db(transaction=True)
def test_a_recharge_with_bonus_points_locks_points_before_the_wallet(chain, rules, member):
    # Checkout locks the points account, then the wallet. A recharge that also pays points
    # must take them in the same order, or the two deadlock on one member.
    open_wallet(member)
    plan = RechargePlan.objects.create(
        code="P1", name="充100送10分", pay_amount=Decimal("100"), bonus_points=10
    )
    holding, done = threading.Event(), threading.Event()
    wallet_was_free = []

    def checkout_like():
        try:
            with transaction.atomic():
                lock_account(member.pk)
                holding.set()
                time.sleep(1.0)  # the recharge starts meanwhile
                try:
                    Wallet.objects.select_for_update(nowait=True).get(member=member)
                    wallet_was_free.append(True)
                except OperationalError:
                    wallet_was_free.append(False)
        finally:
            connection.close()

    def recharge():
        try:
            holding.wait()
            recharge_wallet(member=member, amount="100", plan=plan, source="till")
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=checkout_like), threading.Thread(target=recharge)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert wallet_was_free == [True]  # the recharge waited on the points account first
    assert done.is_set()
    assert Wallet.objects.get(member=member).principal == Decimal("100.00")
