"""Till API edge cases found in review: each failed before its fix."""

import threading

import pytest
from django.db import connection

from loyalty.models import BonusRule
from sales.models import Sale
from stores.services import create_terminal
from wallet.models import RechargePlan

from .conftest import make_member, post, till_client
from .test_sales import PHONE, basket, rules  # noqa: F401  (fixture)


def test_looking_a_sale_up_answers_what_checkout_answered_even_with_a_referral_bonus(
    api,
    chain,
    rules,  # noqa: F811
):
    referrer = make_member(chain["SH001"], phone="13900000001")
    make_member(chain["SH001"], phone=PHONE, referrer=referrer)
    BonusRule.objects.create(
        name="推荐礼", kind=BonusRule.Kind.REFERRAL, points=50, referrer_points=50
    )

    posted = post(api, "/api/v1/sales", basket())
    looked_up = api.get("/api/v1/sales/R0001").json()

    looked_up.pop("refunds")
    assert posted.status_code == 201 and looked_up == posted.json()
    assert posted.json()["points"] == 150  # 100 earned + 50 referral bonus


@pytest.mark.django_db(transaction=True)
def test_one_receipt_sent_at_once_under_fresh_keys_posts_once_without_a_500(chain, rules):  # noqa: F811
    make_member(chain["SH001"], phone=PHONE)
    _terminal, key = create_terminal(store_code="SH001", code="POS09")
    barrier, results = threading.Barrier(6), []

    def one(n):
        try:
            client = till_client(key)
            barrier.wait()
            results.append(post(client, "/api/v1/sales", basket("RC1"), key=f"fresh-{n}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(r.status_code for r in results) == [201] * 6
    assert len({r.json()["points_earned"] for r in results}) == 1
    assert Sale.objects.filter(receipt_no="RC1").count() == 1


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/v1/wallet/recharges", {"member": {"phone": PHONE}, "amount": "9999999999.99"}),
        (
            "/api/v1/sales",
            {
                "receipt_no": "BIG1",
                "member": {"phone": PHONE},
                "lines": [{"sku": "X", "qty": "1", "amount": "9999999999.99"}],
                "total": "9999999999.99",
            },
        ),
    ],
)
def test_amounts_beyond_what_a_till_may_send_are_refused_by_field(api, chain, url, body):
    make_member(chain["SH001"], phone=PHONE)

    response = post(api, url, body)

    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_a_stored_value_balance_past_what_the_database_holds_is_refused(api, chain):
    from wallet.exceptions import WalletOperationRefused
    from wallet.ledger import MAX_BALANCE, post_wallet_entry

    member = make_member(chain["SH001"], phone=PHONE)
    post_wallet_entry(
        member=member, kind="adjustment", principal=MAX_BALANCE, bonus=0, source="admin"
    )
    RechargePlan.objects.create(code="P", name="p", pay_amount="1.00", bonus_amount="1.00")

    with pytest.raises(WalletOperationRefused):
        post_wallet_entry(member=member, kind="recharge", principal="0.01", bonus=0, source="till")
    looked_up = api.get("/api/v1/members/lookup", {"phone": PHONE})
    assert looked_up.status_code == 200 and looked_up.json()["stored_value"] == str(MAX_BALANCE)


def test_a_receipt_number_with_a_slash_is_refused_up_front(api, chain, rules):  # noqa: F811
    make_member(chain["SH001"], phone=PHONE)

    response = post(api, "/api/v1/sales", basket("SH001/0001"))

    assert response.status_code == 400 and "receipt_no" in response.json()["fields"]


def test_a_bad_phone_is_refused_without_echoing_it(api, chain):
    response = post(api, "/api/v1/members", {"phone": "12012345678", "name": "某人"})

    assert response.status_code == 400 and "phone" in response.json()["fields"]
    assert "12012345678" not in response.content.decode()
