"""Expiry at 23:59:59 Shanghai time and the nightly job; points for coupons at the till
(/coupons/exchangeable, /coupons/exchanges) and voiding an exchanged coupon; check_ledgers on
coupons."""

from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core.models import Source
from coupons.models import Coupon, CouponEvent, CouponTemplate
from coupons.services import expire_coupons, void_coupon
from coupons.tasks import expire_coupons_task
from loyalty.models import PointsAccount, PointsEntry
from tests.api.conftest import make_member, post
from tests.coupons.conftest import checkout, give, grant_points, line, make_template, shanghai

QUOTE = "/api/v1/sales/quote"
EXCHANGEABLE = "/api/v1/coupons/exchangeable"
EXCHANGES = "/api/v1/coupons/exchanges"
PHONE = "13812345678"


@pytest.fixture
def zhang(chain):
    member = make_member(chain["SH001"], name="张三", phone=PHONE)
    grant_points(member, 2500)
    return member


# --- expiry ---------------------------------------------------------------------------------


def test_a_coupon_works_at_235959_shanghai_time_of_its_last_day_and_not_a_second_later(api, zhang):
    template = make_template("DEC", face_value=Decimal("5"), valid_days=30)
    with time_machine.travel(shanghai(2026, 12, 1, 10, 0), tick=False):
        coupon = give(template, zhang)
    basket = {
        "member": {"phone": PHONE},
        "coupon_codes": [coupon.code],
        "lines": [{"sku": "A", "name": "A", "category": "x", "qty": 1, "amount": "9.00"}],
    }

    with time_machine.travel(shanghai(2026, 12, 30, 23, 59, 59), tick=False):
        last_second = post(api, QUOTE, basket, key=None).json()["coupons"][0]
    with time_machine.travel(shanghai(2026, 12, 31, 0, 0, 0), tick=False):
        next_day = post(api, QUOTE, basket, key=None).json()["coupons"][0]

    assert last_second["applicable"] is True and last_second["discount"] == "5.00"
    assert next_day["reason"] == "coupon_expired"


def test_the_nightly_job_expires_in_chunks_once(zhang, check_ledgers):
    template = make_template("NIGHT", face_value=Decimal("5"), valid_days=1, per_member_limit=9)
    with time_machine.travel(shanghai(2026, 12, 1, 10, 0), tick=False):
        old = [give(template, zhang) for _ in range(5)]

    with time_machine.travel(shanghai(2026, 12, 1, 23, 59, 59), tick=False):
        assert expire_coupons(source=Source.TASK) == 0  # the last second still counts
    with time_machine.travel(shanghai(2026, 12, 2, 0, 0, 0), tick=False):
        from coupons import ledger

        fresh = give(template, zhang)  # issued that day: valid through its end

        expired = ledger.expire(source=Source.TASK, chunk_size=2)
        again = expire_coupons_task.apply().get()

    assert expired == 5 and again == 0
    assert set(Coupon.objects.filter(status=Coupon.Status.EXPIRED)) == set(old)
    assert Coupon.objects.get(pk=fresh.pk).status == Coupon.Status.AVAILABLE
    assert CouponEvent.objects.filter(kind=CouponEvent.Kind.EXPIRED).count() == 5
    check_ledgers()


def test_an_expired_coupon_is_refused_at_the_sale_even_before_the_job_runs(rules, member):
    template = make_template("SOON", face_value=Decimal("5"), valid_days=1)
    coupon = give(template, member)

    from coupons.exceptions import CouponNotUsable

    with (
        time_machine.travel(coupon.valid_until.timestamp() + 1, tick=False),
        pytest.raises(CouponNotUsable) as refused,
    ):
        checkout(member, [line("A", "30.00")], coupons=[coupon])
    assert refused.value.fields["coupon_codes"] == [f"{coupon.code}: coupon_expired"]


# --- points for coupons at the till ---------------------------------------------------------


def test_it_lists_what_may_be_taken_for_points_here(api, chain, cash10, sh001only):
    only_beijing = make_template(
        "BJ", face_value=Decimal("3"), exchange_points=300, stores="listed",
        store_ids=[chain["BJ001"].pk],
    )  # fmt: skip
    make_template("NONE", face_value=Decimal("3"), exchange_points=100, total_quantity=0)
    assert only_beijing.pk

    listed = api.get(EXCHANGEABLE).json()

    assert listed == [
        {"template": "CASH10", "name": "满50减10", "points": 1000, "face_value": "10.00",
         "threshold": "50.00", "left": None}
    ]  # fmt: skip


def test_a_member_takes_a_coupon_for_points_at_the_till(api, zhang, cash10, check_ledgers):
    body = {"exchange_no": "X-1", "member": {"phone": PHONE}, "template": "CASH10"}

    response = post(api, EXCHANGES, body, key="x1")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["points_spent"] == 1000 and answer["points"] == 1500
    coupon = Coupon.objects.get(code=answer["coupon"]["code"])
    assert coupon.owner == zhang and coupon.points_entry.kind == PointsEntry.Kind.COUPON
    check_ledgers()


def test_an_exchange_replays_by_key_and_by_number(api, zhang, cash10, check_ledgers):
    body = {"exchange_no": "X-2", "member": {"phone": PHONE}, "template": "CASH10"}
    first = post(api, EXCHANGES, body, key="k1")

    same_key = post(api, EXCHANGES, body, key="k1")
    fresh_key = post(api, EXCHANGES, body, key="k2")
    other_body = post(api, EXCHANGES, {**body, "template": "FRESH90"}, key="k3")

    assert same_key.json() == first.json() and same_key["Idempotent-Replayed"] == "true"
    assert fresh_key.status_code == 201 and fresh_key.json() == first.json()
    assert fresh_key["Idempotent-Replayed"] == "true"
    assert other_body.status_code in (409, 422)
    assert PointsAccount.objects.get(member=zhang).balance == 1500
    check_ledgers()


def test_the_same_number_for_another_exchange_is_a_conflict(api, zhang, cash10, fresh90):
    fresh90.exchange_points = 200
    fresh90.save()
    post(api, EXCHANGES, {"exchange_no": "X-3", "member": {"phone": PHONE}, "template": "CASH10"})

    again = post(
        api, EXCHANGES, {"exchange_no": "X-3", "member": {"phone": PHONE}, "template": "FRESH90"},
        key="other",
    )  # fmt: skip

    assert again.status_code == 409 and again.json()["code"] == "duplicate_exchange"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"template": "CASH10", "points": 9000}, 422, "insufficient_points"),
        ({"template": "NOPE"}, 422, "coupon_not_available"),
        ({"template": "FRESH90"}, 422, "coupon_not_available"),  # not offered for points
        ({"template": ""}, 400, "invalid"),
        ({"template": "CASH10", "exchange_no": ""}, 400, "invalid"),
        ({"template": "CASH10", "member": {"phone": "13900000000"}}, 404, "member_not_found"),
    ],
)
def test_an_exchange_that_cannot_be_done_is_refused_clearly(
    api, chain, cash10, fresh90, body, status, code
):
    member = make_member(chain["SH001"], phone=PHONE)
    grant_points(member, 500)
    if "points" in body:
        cash10.exchange_points = body.pop("points")
        cash10.save()
    request = {"exchange_no": "X-9", "member": {"phone": PHONE}, **body}

    response = post(api, EXCHANGES, request)

    assert response.status_code == status and response.json()["code"] == code
    assert PointsAccount.objects.get(member=member).balance == 500
    assert not Coupon.objects.exists()


def test_voiding_an_unused_exchanged_coupon_gives_the_points_back(
    api, zhang, cash10, check_ledgers
):
    answer = post(
        api, EXCHANGES, {"exchange_no": "X-4", "member": {"phone": PHONE}, "template": "CASH10"}
    ).json()
    coupon = Coupon.objects.get(code=answer["coupon"]["code"])

    assert void_coupon(coupon=coupon, reason="会员要求退回", source=Source.ADMIN)
    assert not void_coupon(coupon=coupon, reason="again", source=Source.ADMIN)

    assert PointsAccount.objects.get(member=zhang).balance == 2500
    back = PointsEntry.objects.get(reverses=coupon.points_entry)
    assert back.points == 1000 and back.kind == PointsEntry.Kind.REDEEM_REVERSAL
    check_ledgers()


def test_a_used_exchanged_coupon_cannot_be_voided_for_its_points(
    api, rules, zhang, cash10, check_ledgers
):
    answer = post(
        api, EXCHANGES, {"exchange_no": "X-5", "member": {"phone": PHONE}, "template": "CASH10"}
    ).json()
    coupon = Coupon.objects.get(code=answer["coupon"]["code"])
    checkout(zhang, [line("A", "60.00")], coupons=[coupon])

    assert not void_coupon(coupon=coupon, reason="想退积分", source=Source.ADMIN)
    assert not PointsEntry.objects.filter(reverses=coupon.points_entry).exists()
    check_ledgers()


# --- check_ledgers guards coupons -----------------------------------------------------------


def test_check_ledgers_finds_a_template_count_that_disagrees(zhang, cash10, check_ledgers):
    give(cash10, zhang)
    check_ledgers()

    CouponTemplate.objects.filter(pk=cash10.pk).update(issued=5)

    with pytest.raises(CommandError):
        call_command("check_ledgers", verbosity=0)


def test_check_ledgers_finds_a_used_coupon_without_its_sale(zhang, cash10):
    coupon = give(cash10, zhang)
    Coupon.objects.filter(pk=coupon.pk).update(status=Coupon.Status.USED)

    with pytest.raises(CommandError):
        call_command("check_ledgers", verbosity=0)
