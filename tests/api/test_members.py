from decimal import Decimal

import pytest

from core.models import Source
from members.models import Member
from members.services import open_member, set_members_status
from wallet.models import RechargePlan, WalletEntry

from .conftest import post

LOOKUP = "/api/v1/members/lookup"
OPEN = "/api/v1/members"
RECHARGE = "/api/v1/wallet/recharges"
SUMMARY_FIELDS = {
    "member_no",
    "name",
    "phone",
    "tier",
    "points",
    "points_expiring",
    "stored_value",
    "coupons",
    "count_cards",
    "marketing_consent",
}


@pytest.fixture
def zhang(chain):
    return open_member(phone="13812345678", name="张三", home_store=chain["SH001"], source="admin")


def code_of(response):
    return response.json()["code"]


# --- GET /members/lookup


def test_it_looks_a_member_up_by_phone_with_the_phone_masked(api, zhang):
    response = api.get(LOOKUP, {"phone": "13812345678"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == SUMMARY_FIELDS
    assert body["member_no"] == zhang.member_no
    assert body["phone"] == "138****5678"
    assert body["points"] == 0 and body["stored_value"] == "0.00"


def test_it_looks_a_member_up_by_member_no(api, zhang):
    response = api.get(LOOKUP, {"member_no": zhang.member_no})

    assert response.status_code == 200 and response.json()["name"] == "张三"


def test_it_answers_an_unknown_member_with_404(api, zhang):
    response = api.get(LOOKUP, {"phone": "13900000000"})

    assert response.status_code == 404 and code_of(response) == "member_not_found"


def test_it_answers_a_frozen_member_with_403(api, zhang, head_office):
    set_members_status(
        members=Member.objects.filter(pk=zhang.pk),
        status=Member.Status.FROZEN,
        source=Source.ADMIN,
        actor=head_office,
    )

    response = api.get(LOOKUP, {"phone": "13812345678"})

    assert response.status_code == 403 and code_of(response) == "member_inactive"


def test_it_answers_a_lookup_without_a_key_field_with_400(api, zhang):
    response = api.get(LOOKUP)

    assert response.status_code == 400 and code_of(response) == "invalid"


def test_it_looks_up_in_a_bounded_number_of_queries(api, zhang, django_assert_max_num_queries):
    # key, member, everything else in one SELECT (+1 for the till's last_seen once a minute)
    with django_assert_max_num_queries(4):
        assert api.get(LOOKUP, {"phone": "13812345678"}).status_code == 200


def test_the_lookup_lists_lots_coupons_and_cards_soonest_first_and_nothing_spent(api, zhang):
    from datetime import timedelta

    from django.utils import timezone

    from countcards.models import CountCardPackage
    from countcards.services import sell_count_card
    from coupons.models import Coupon
    from loyalty.ledger import post_points_entry
    from tests.coupons.conftest import give, make_template
    from wallet.services import recharge_wallet

    now = timezone.now()
    lots = [(90, 300), (10, 100), (400, 7), (-1, 50)] + [(200 + d, 1) for d in range(5)]
    for days, points in lots:
        post_points_entry(member=zhang, points=points, kind="adjustment", source="admin",
                          reason="t", expires_at=now + timedelta(days=days))  # fmt: skip
    recharge_wallet(member=zhang, amount=Decimal("100.00"), store=zhang.home_store,
                    source="admin")  # fmt: skip
    cash = make_template("LK-CASH", name="满50减10", face_value=Decimal("10"),
                         threshold=Decimal("50"), valid_days=30)  # fmt: skip
    short = make_template("LK-SHORT", name="减5", face_value=Decimal("5"), valid_days=3,
                          per_member_limit=2)  # fmt: skip
    late, soon, spent = give(cash, zhang), give(short, zhang), give(short, zhang)
    Coupon.objects.filter(pk=spent.pk).update(status=Coupon.Status.VOIDED)
    package = CountCardPackage.objects.create(code="LK10", name="洗车10次", visits=10,
                                              price=Decimal("100"), valid_days=30)  # fmt: skip
    card = sell_count_card(member=zhang, package=package, source="admin", store=zhang.home_store)

    body = api.get(LOOKUP, {"phone": "13812345678"}).json()

    assert body["points"] == 300 + 100 + 7 + 50 + 5
    expiring = body["points_expiring"]
    assert [e["points"] for e in expiring] == [100, 300, 1, 1, 1]  # five, soonest first
    assert expiring[0]["expires_at"] < expiring[1]["expires_at"] < expiring[2]["expires_at"]
    times = [e["expires_at"] for e in expiring] + [
        item[key] for item in body["coupons"] for key in ("valid_from", "expires_at")
    ] + [card["expires_at"] for card in body["count_cards"]]
    assert all(t.endswith("+08:00") for t in times), times  # one offset in one answer
    assert body["stored_value"] == "100.00"
    assert [c["code"] for c in body["coupons"]] == [soon.code, late.code]  # voided: not listed
    assert body["coupons"][1] == {
        "code": late.code, "name": "满50减10", "kind": "cash", "face_value": "10.00",
        "threshold": "50.00", "valid_from": body["coupons"][1]["valid_from"],
        "expires_at": body["coupons"][1]["expires_at"],
    }  # fmt: skip
    assert body["count_cards"] == [{"id": card.pk, "package": "LK10", "name": "洗车10次",
        "visits_left": 10, "expires_at": body["count_cards"][0]["expires_at"]}]  # fmt: skip


# --- POST /members


def test_it_opens_a_member_for_the_tills_store(api, till):
    response = post(api, OPEN, {"phone": "13912345678", "name": "李四", "gender": "F"})

    assert response.status_code == 201
    assert set(response.json()) == SUMMARY_FIELDS
    assert response.json()["phone"] == "139****5678"
    member = Member.objects.get(phone="13912345678")
    assert member.home_store == till.store and member.gender == "F"


def test_it_replays_an_opening(api):
    first = post(api, OPEN, {"phone": "13912345678", "name": "李四"}, key="open-1")

    again = post(api, OPEN, {"phone": "13912345678", "name": "李四"}, key="open-1")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Member.objects.filter(phone="13912345678").count() == 1


def test_it_refuses_a_reused_key_for_another_opening(api):
    post(api, OPEN, {"phone": "13912345678", "name": "李四"}, key="open-1")

    response = post(api, OPEN, {"phone": "13912345679", "name": "王五"}, key="open-1")

    assert response.status_code == 409 and code_of(response) == "idempotency_key_reused"
    assert not Member.objects.filter(phone="13912345679").exists()


def test_it_refuses_a_phone_that_is_already_a_member_with_409(api, zhang):
    response = post(api, OPEN, {"phone": "13812345678", "name": "张三"})

    assert response.status_code == 409 and code_of(response) == "member_exists"


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "1381234567x"])
def test_it_refuses_a_bad_phone_with_400(api, phone):
    response = post(api, OPEN, {"phone": phone, "name": "张三"})

    assert response.status_code == 400 and code_of(response) == "invalid"
    assert "phone" in response.json()["fields"]


def test_it_refuses_an_unknown_gender_with_400(api):
    response = post(api, OPEN, {"phone": "13912345678", "gender": "X"})

    assert response.status_code == 400 and "gender" in response.json()["fields"]


# --- POST /wallet/recharges


def test_it_recharges_stored_value(api, zhang, check_ledgers):
    response = post(api, RECHARGE, {"member": {"phone": "13812345678"}, "amount": "100.00"})

    assert response.status_code == 201
    assert response.json() == {
        "recharge_no": "",
        "amount": "100.00",
        "bonus": "0.00",
        "stored_value": "100.00",
    }
    check_ledgers()


def test_it_recharges_with_a_plan_bonus(api, zhang, check_ledgers):
    RechargePlan.objects.create(
        code="R500", name="充500送50", pay_amount=Decimal("500"), bonus_amount=Decimal("50")
    )
    body = {"member": {"phone": "13812345678"}, "amount": "500.00", "plan": "R500"}

    response = post(api, RECHARGE, body)

    assert response.status_code == 201
    assert response.json() == {
        "recharge_no": "",
        "amount": "500.00",
        "bonus": "50.00",
        "stored_value": "550.00",
    }
    check_ledgers()


def test_it_replays_a_recharge_without_adding_money_twice(api, zhang, check_ledgers):
    body = {"member": {"phone": "13812345678"}, "amount": "100.00"}
    first = post(api, RECHARGE, body, key="r-1")

    again = post(api, RECHARGE, body, key="r-1")

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert WalletEntry.objects.filter(kind=WalletEntry.Kind.RECHARGE).count() == 1
    check_ledgers()


def test_it_refuses_a_reused_key_for_another_recharge(api, zhang, check_ledgers):
    post(api, RECHARGE, {"member": {"phone": "13812345678"}, "amount": "100.00"}, key="r-1")

    response = post(
        api, RECHARGE, {"member": {"phone": "13812345678"}, "amount": "200.00"}, key="r-1"
    )

    assert response.status_code == 409 and code_of(response) == "idempotency_key_reused"
    assert WalletEntry.objects.filter(kind=WalletEntry.Kind.RECHARGE).count() == 1
    check_ledgers()


def test_it_refuses_an_unknown_plan(api, zhang):
    body = {"member": {"phone": "13812345678"}, "amount": "100.00", "plan": "NOPE"}

    response = post(api, RECHARGE, body)

    assert response.status_code == 422 and code_of(response) == "recharge_plan_not_available"
    assert not WalletEntry.objects.filter(kind=WalletEntry.Kind.RECHARGE).exists()


def test_it_refuses_a_recharge_for_an_unknown_member(api):
    response = post(api, RECHARGE, {"member": {"phone": "13900000000"}, "amount": "1.00"})

    assert response.status_code == 404 and code_of(response) == "member_not_found"


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "1.001"])
def test_it_refuses_a_recharge_amount_that_is_not_positive_money(api, zhang, amount):
    response = post(api, RECHARGE, {"member": {"phone": "13812345678"}, "amount": amount})

    assert response.status_code == 400 and "amount" in response.json()["fields"]


@pytest.mark.parametrize("param", ["card_no", "card"])
def test_it_looks_a_member_up_by_card_number(api, chain, param):
    from members.services import generate_card_batch

    batch = generate_card_batch(prefix="88", count=1, source=Source.ADMIN)
    card_no = batch.cards.get().card_no
    open_member(
        phone="13912345678", card_no=card_no, home_store=chain["SH001"], source=Source.ADMIN
    )

    response = api.get(LOOKUP, {param: card_no})

    assert response.status_code == 200 and response.json()["phone"] == "139****5678"


# --- GET /wallet/plans


def test_it_lists_the_recharge_plans_this_store_offers_now(api, chain):
    from datetime import timedelta

    from django.utils import timezone

    RechargePlan.objects.create(
        code="R500", name="充500送50", pay_amount="500.00", bonus_amount="50.00"
    )
    bj_only = RechargePlan.objects.create(
        code="BJ", name="北京专享", pay_amount="100.00", bonus_amount="5.00"
    )
    bj_only.stores.add(chain["BJ001"])
    RechargePlan.objects.create(
        code="OLD",
        name="已结束",
        pay_amount="100.00",
        bonus_amount="5.00",
        ends_at=timezone.now() - timedelta(days=1),
    )

    response = api.get("/api/v1/wallet/plans")

    assert response.status_code == 200
    assert [(p["code"], p["bonus_amount"]) for p in response.json()] == [("R500", "50.00")]


# --- marketing consent (v1.1)


def test_a_card_opened_at_the_till_records_the_consent_given_there(api, chain):
    from members.models import ConsentDoor, ConsentRecord

    response = post(api, OPEN, {"phone": "13900000077", "name": "王五",
                                "marketing_consent": {"sms": True, "wechat": False}})  # fmt: skip

    assert response.status_code == 201
    assert response.json()["marketing_consent"] == {"sms": True, "wechat": False}
    [record] = ConsentRecord.objects.filter(member__phone="13900000077")
    assert (record.channel, record.granted, record.door) == ("sms", True, ConsentDoor.TILL)
    assert record.text and record.text_version
    lookup = api.get(LOOKUP, {"phone": "13900000077"}).json()
    assert lookup["marketing_consent"] == {"sms": True, "wechat": False}


def test_without_a_consent_field_the_member_agreed_to_nothing(api, chain):
    response = post(api, OPEN, {"phone": "13900000078"})

    assert response.status_code == 201
    assert response.json()["marketing_consent"] == {"sms": False, "wechat": False}


@pytest.mark.parametrize("consent", ["yes", ["sms"], {"sms": "maybe"}, {"sms": {"a": 1}}, 1])
def test_a_malformed_consent_is_400_and_opens_nothing(api, chain, consent):
    response = post(api, OPEN, {"phone": "13900000079", "marketing_consent": consent})

    assert response.status_code == 400 and code_of(response) == "invalid"
    assert all(f.startswith("marketing_consent") for f in response.json()["fields"])
    assert not Member.objects.filter(phone="13900000079").exists()
