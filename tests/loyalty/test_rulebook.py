"""The per-process rule book: kept while the rules are unchanged, reloaded however they change."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty import rulebook
from loyalty.ledger import _open_lots, lock_account, post_points_entry
from loyalty.models import EarningRule, ExpiryPolicy, PointsEntry, PointsLot
from members.models import Tier
from sales.services import post_sale
from tests.sales.test_sales import TUESDAY, sell

from .conftest import line


class Rollback(Exception):
    pass


def test_the_book_is_kept_while_nothing_changes(rules):
    book = rulebook.get()

    assert rulebook.get() is book
    assert [rule.pk for rule in book.earning] == [rules["earn"].pk]


def test_a_bulk_update_that_sends_no_signal_still_reaches_the_next_sale(
    chain, rules, member, check_ledgers
):
    assert sell(member, chain["SH001"], "R1").points_earned == 100

    EarningRule.objects.filter(pk=rules["earn"].pk).update(points=3)

    assert sell(member, chain["SH001"], "R2").points_earned == 300
    check_ledgers()


def test_a_store_added_to_a_rule_reaches_the_next_sale(chain, rules, member):
    assert sell(member, chain["SH001"], "R1").points_earned == 100

    rules["earn"].stores.add(chain["BJ001"])  # the rule now applies in BJ001 only

    assert sell(member, chain["SH001"], "R2").points_earned == 0
    assert sell(member, chain["BJ001"], "R3").points_earned == 100


def test_a_tier_and_an_expiry_policy_changed_reach_the_next_sale(chain, rules, make_member):
    gold = make_member(tier=rules["gold"])
    assert sell(gold, chain["SH001"], "R1").points_earned == 150  # x1.5

    Tier.objects.filter(pk=rules["gold"].pk).update(points_multiplier=Decimal("3.00"))
    ExpiryPolicy.objects.filter(pk=rules["expiry"].pk).update(mode=ExpiryPolicy.Mode.NEVER)

    sale = sell(gold, chain["SH001"], "R2")
    assert sale.points_earned == 300
    assert PointsLot.objects.get(entry=sale.earn_entry).expires_at is None


def test_a_rule_change_rolled_back_never_leaves_its_book_in_use(rules):
    before = rulebook.get()
    with pytest.raises(Rollback), transaction.atomic():
        EarningRule.objects.filter(pk=rules["earn"].pk).update(points=7)
        inside = rulebook.get()
        assert inside is not before and inside.earning[0].points == 7
        raise Rollback

    after = rulebook.get()
    assert after.earning[0].points == 1


def test_a_token_row_lost_to_a_flush_comes_back_with_a_new_token(rules):
    before = rulebook.get()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM loyalty_rulebookversion")

    after = rulebook.get()

    assert after is not before and after.token not in (None, before.token)
    assert rulebook.get() is after
    assert after.earning[0].pk == rules["earn"].pk


@pytest.mark.django_db(transaction=True)
def test_a_checkout_with_the_book_kept_runs_in_five_statements_and_its_transaction(
    chain, rules, member, django_assert_num_queries, check_ledgers
):
    post_points_entry(member=member, points=5000, kind=PointsEntry.Kind.ADJUST, source="admin")
    rulebook.get()  # warm, as every checkout after the first one in a process finds it

    # BEGIN, the account lock, what is read once it is held (the receipt, stored value, book
    # token and tier, in a statement of its own so it sees what other tills committed while
    # this one waited), the lots, the sale's one statement (points, sale, lines, the visit and
    # the conditional upgrade), the tier change it logs, COMMIT; then, outside the transaction,
    # the first-purchase coupon templates (this is the member's first sale)
    with django_assert_num_queries(8):
        sale = post_sale(
            store=chain["SH001"],
            member=member,
            receipt_no="R1",
            lines=[line("A", "800.00"), line("B", "400.00")],
            total=Decimal("1200.00"),
            redeem_points=1000,
            source="till",
            at=TUESDAY,
        )

    assert sale.points_redeemed == 1000 and sale.tier_changed
    check_ledgers()


def test_a_redemption_reads_only_the_lots_that_cover_it(rules, member, check_ledgers):
    now = timezone.now()
    for days in (50, 10, 40, 20, 30):
        post_points_entry(
            member=member,
            points=100,
            kind=PointsEntry.Kind.ADJUST,
            source="admin",
            expires_at=now + timedelta(days=days),
        )
    account = lock_account(member.pk)

    covering = _open_lots(account, at=now, need=250)
    everything = _open_lots(account, at=now, need=600)

    assert [lot.expires_at - now for lot in covering] == [timedelta(days=d) for d in (10, 20, 30)]
    assert len(everything) == 5

    post_points_entry(member=member, points=-250, kind=PointsEntry.Kind.ADJUST, source="admin")
    left = PointsLot.objects.filter(account=account).order_by("expires_at")
    assert [lot.remaining for lot in left] == [0, 0, 50, 100, 100]
    check_ledgers()


def _tables_with_token_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_rulebook' AND NOT t.tgisinternal"
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_table_the_rule_book_reads_has_its_trigger(rules):
    with CaptureQueriesContext(connection) as loading:
        rulebook.RuleBook("any")
    read = {
        table
        for query in loading.captured_queries
        for table in re.findall(r'FROM "(\w+)"', query["sql"])
    }

    assert {"loyalty_tier", "loyalty_earningrule", "loyalty_earningrule_tiers"} <= read
    assert read - _tables_with_token_trigger() == set()


def test_a_rule_model_added_to_the_book_is_watched_after_the_next_migrate(monkeypatch, rules):
    from loyalty.models import BonusRule

    assert "loyalty_bonusrule" not in _tables_with_token_trigger()
    monkeypatch.setattr(rulebook, "BOOK_MODELS", (*rulebook.BOOK_MODELS, BonusRule))

    rulebook.install_triggers()  # what post_migrate runs

    assert "loyalty_bonusrule" in _tables_with_token_trigger()
    token = rulebook.read_token()
    BonusRule.objects.create(kind="registration", name="注册礼", points=10)
    assert rulebook.read_token() != token
