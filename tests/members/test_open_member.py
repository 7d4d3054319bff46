from decimal import Decimal

import pytest

from core.models import Source
from loyalty.models import PointsEntry, PointsLot
from members.exceptions import (
    CardNotAvailable,
    InvalidMember,
    MemberExists,
    MemberInactive,
    MemberNotFound,
)
from members.models import Card, Member, Tier
from members.models.cards import is_valid_card_no
from members.services import (
    ensure_member_active,
    find_member,
    generate_card_batch,
    open_member,
    report_card_lost_and_replace,
    set_members_status,
)
from sales.selectors import member_summary
from wallet.models import WalletEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_tier(db):
    return Tier.objects.create(code="normal", name="普通会员", rank=1, is_default=True)


def test_it_opens_a_member_with_opening_balances_as_ledger_entries(
    chain, head_office, default_tier, check_ledgers
):
    # given / when
    member = open_member(
        phone="+86 138-1234-5678",
        home_store=chain["SH001"],
        source=Source.ADMIN,
        actor=head_office,
        name="张三丰",
        initial_points=300,
        initial_stored_value=Decimal("88.50"),
    )
    # then
    member.refresh_from_db()
    assert member.phone == "13812345678"
    assert member.member_no.startswith("M") and len(member.member_no) == 10
    assert member.name_initials == "zsf"
    assert member.phone_last4 == "5678"
    assert member.tier == default_tier
    assert member.points_account.balance == 300
    assert member.wallet.balance == Decimal("88.50")
    entry = PointsEntry.objects.get(account__member=member)
    assert (entry.kind, entry.actor, entry.source) == ("opening", head_office, Source.ADMIN)
    assert PointsLot.objects.get(entry=entry).remaining == 300
    wallet_entry = WalletEntry.objects.get(wallet__member=member)
    assert (wallet_entry.kind, wallet_entry.actor) == (WalletEntry.Kind.OPENING, head_office)
    check_ledgers()


def test_it_always_opens_the_points_account_and_wallet(chain):
    member = open_member(phone="13900000000", home_store=chain["BJ001"], source=Source.TILL)
    assert member.points_account.balance == 0
    assert member.wallet.balance == Decimal("0.00")
    assert member.tier is None  # no default tier configured
    assert member.source == Member.Source.TILL


def test_it_refuses_a_phone_that_is_already_a_member(chain):
    open_member(phone="13900000000", home_store=chain["SH001"], source=Source.ADMIN)
    with pytest.raises(MemberExists) as caught:
        open_member(phone="139 0000 0000", home_store=chain["SH002"], source=Source.ADMIN)
    assert (caught.value.code, caught.value.status) == ("member_exists", 409)
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "13900000000", "initial_points": -1}, "initial_points"),
        (
            {"phone": "13900000000", "initial_stored_value": Decimal("-0.01")},
            "initial_stored_value",
        ),
        ({"phone": "13900000000", "gender": "X"}, "gender"),
        ({"phone": "13900000000", "referrer_phone": "13700000000"}, "referrer_phone"),
    ],
)
def test_it_refuses_invalid_details(chain, kwargs, field):
    with pytest.raises(InvalidMember) as caught:
        open_member(home_store=chain["SH001"], source=Source.ADMIN, **kwargs)
    assert caught.value.code == "invalid" and caught.value.status == 400
    assert field in caught.value.fields
    assert not Member.objects.exists()


def test_it_links_the_referrer_by_phone(chain):
    referrer = open_member(phone="13700000000", home_store=chain["SH001"], source=Source.ADMIN)
    member = open_member(
        phone="13900000000",
        home_store=chain["SH001"],
        source=Source.ADMIN,
        referrer_phone="137 0000 0000",
    )
    assert member.referrer == referrer


def test_it_generates_a_batch_of_cards_with_check_digits(chain, head_office):
    batch = generate_card_batch(prefix="8801", count=10_000, source=Source.ADMIN, actor=head_office)
    numbers = list(Card.objects.filter(batch=batch).values_list("card_no", flat=True))
    assert len(set(numbers)) == 10_000
    assert all(len(n) == 16 and n.startswith("8801") and is_valid_card_no(n) for n in numbers)
    # a second batch with the same prefix continues the serials
    second = generate_card_batch(prefix="8801", count=5, source=Source.ADMIN)
    assert second.first_serial == 10_001
    assert not is_valid_card_no(numbers[0][:-1] + str((int(numbers[0][-1]) + 1) % 10))


def test_it_activates_a_card_and_applies_the_batch_defaults(chain, check_ledgers):
    gold = Tier.objects.create(code="gold", name="金卡", rank=3)
    batch = generate_card_batch(
        prefix="66",
        count=3,
        source=Source.ADMIN,
        initial_tier=gold,
        initial_points=100,
        initial_stored_value=Decimal("50.00"),
    )
    card = batch.cards.first()
    member = open_member(
        phone="13900000000", home_store=chain["SH001"], source=Source.ADMIN, card_no=card.card_no
    )
    card.refresh_from_db()
    assert (card.status, card.member) == (Card.Status.ACTIVE, member)
    assert member.tier == gold and member.source == Member.Source.BATCH
    assert member.points_account.balance == 100
    assert member.wallet.balance == Decimal("50.00")
    assert find_member(card_no=card.card_no) == member
    with pytest.raises(CardNotAvailable):
        open_member(
            phone="13900000001",
            home_store=chain["SH001"],
            source=Source.ADMIN,
            card_no=card.card_no,
        )
    check_ledgers()


def test_it_replaces_a_lost_card_keeping_every_balance(chain, check_ledgers):
    batch = generate_card_batch(prefix="77", count=2, source=Source.ADMIN)
    old, new = list(batch.cards.order_by("card_no"))
    member = open_member(
        phone="13900000000",
        home_store=chain["SH001"],
        source=Source.ADMIN,
        card_no=old.card_no,
        initial_points=120,
        initial_stored_value=Decimal("10.00"),
    )
    replacement = report_card_lost_and_replace(
        card=old, new_card_no=new.card_no, source=Source.ADMIN
    )
    old.refresh_from_db()
    assert old.status == Card.Status.LOST and old.replaced_by == replacement
    assert find_member(card_no=new.card_no) == member
    with pytest.raises(MemberNotFound):
        find_member(card_no=old.card_no)
    member.refresh_from_db()
    assert member.points_account.balance == 120
    assert member.wallet.balance == Decimal("10.00")
    check_ledgers()


def test_it_finds_members_and_refuses_inactive_ones(chain):
    member = open_member(phone="13900000000", home_store=chain["SH001"], source=Source.ADMIN)
    assert find_member(phone="+8613900000000") == member
    assert find_member(member_no=member.member_no) == member
    with pytest.raises(MemberNotFound) as caught:
        find_member(phone="13900000001")
    assert caught.value.status == 404
    assert ensure_member_active(member) is member
    set_members_status(
        members=Member.objects.filter(pk=member.pk), status="frozen", source=Source.ADMIN
    )
    member.refresh_from_db()
    with pytest.raises(MemberInactive) as caught:
        ensure_member_active(member)
    assert (caught.value.code, caught.value.status) == ("member_inactive", 403)


def test_it_summarises_a_member_for_the_till_with_a_masked_phone(chain, default_tier):
    member = open_member(
        phone="13812345678",
        home_store=chain["SH001"],
        source=Source.TILL,
        name="李四",
        initial_points=50,
        initial_stored_value=Decimal("12.5"),
    )
    summary = member_summary(member)
    assert summary["phone"] == "138****5678"
    assert summary["points"] == 50
    assert summary["stored_value"] == "12.50"
    assert summary["tier"] == {"code": "normal", "name": "普通会员"}
    assert summary["member_no"] == member.member_no
