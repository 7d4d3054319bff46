"""Property: however a sale with an item coupon and an order coupon is refunded, bit by bit or
at once, the member ends each refund having paid what the kept lines cost bought alone.

The invariant, after every refund k of a sale (amounts in yuan):

- paid_k = cash collected at the sale − cash_returned so far
           + stored value used − stored value returned so far
           + (points redeemed − points returned so far) × the yuan a point offset at the sale
  (the three tenders a member pays with; a coupon is a discount, not a tender);
- quote_k = `quote_sale(...)["amount_due"]` for the lines kept after refund k (each kept unit
  at the unit price the sale charged), with the sale's coupons, at the sale's time, without
  points: what the member would pay for those lines bought alone.
- Then paid_k == quote_k, except where refund k's cash was bounded (stored value and points
  go back as they were spent, so only cash makes up a difference, and never beyond what is
  left of it): if refund k returned no cash, paid_k < quote_k is allowed (the rest is owed
  and taken from the next refunds' cash); if it returned all the cash left, paid_k > quote_k
  is allowed (the rest comes back with the next refunds' stored value and points).
- 0 <= cash_returned_k <= the cash not yet returned, and paid_k >= 0: never more back than
  the member paid in all.
- After the last refund nothing is kept: paid == 0, the member's points and stored value are
  back where they were before the sale, the coupons are the member's again, and every ledger
  reconciles (check_ledgers after every example).

The quotes are taken before the sale, while the coupons are still the member's to use (once
used, a quote answers `coupon_used`). Unit prices are whole cents and quantities whole, so a
kept line's value is exact, independent of how refunds round.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Source
from coupons.models import Coupon
from loyalty.models import PointsAccount
from sales.api.views import refund_answer
from sales.services import quote_sale
from tests.coupons.conftest import Version, checkout, give, grant_points, make_template, refund
from wallet.ledger import open_wallet
from wallet.selectors import stored_value_of
from wallet.services import recharge_wallet

pytestmark = pytest.mark.usefixtures("rules")
CENT = Decimal("0.01")
YUAN_PER_POINT = Decimal("0.01")  # the `rules` fixture: 100 points = 1 yuan


def _yuan(cents):
    return Decimal(cents) * CENT


@st.composite
def baskets(draw):
    """1-4 lines of fresh or grocery items: (sku, category, unit price in cents, qty)."""
    count = draw(st.integers(1, 4))
    return [
        (
            f"L{i}",
            draw(st.sampled_from(["fresh", "grocery"])),
            draw(st.integers(50, 4000)),
            draw(st.integers(1, 3)),
        )
        for i in range(count)
    ]


def _near(draw, amount):
    """A threshold near `amount`: a little under, at, or a little over it, or none."""
    if amount <= 0 or draw(st.booleans()) is False:
        return Decimal("0")
    factor = draw(st.sampled_from(["0.5", "0.8", "0.95", "1", "1.02", "1.2"]))
    return (amount * Decimal(factor)).quantize(Decimal("1"))


def _item_coupon(draw, fresh):
    if draw(st.booleans()):
        return {
            "kind": Version.Kind.PERCENT,
            "percent_off": Decimal(draw(st.sampled_from([5, 10, 20, 30]))),
            "cap": draw(st.sampled_from([None, Decimal("3"), Decimal("8")])),
            "threshold": _near(draw, fresh),
        }
    return {
        "kind": Version.Kind.CASH,
        "face_value": Decimal(draw(st.integers(1, 10))),
        "threshold": _near(draw, fresh),
    }


def _order_coupon(draw, total):
    if draw(st.booleans()):
        return {
            "kind": Version.Kind.CASH,
            "face_value": Decimal(draw(st.integers(2, 20))),
            "threshold": _near(draw, total),
        }
    return {
        "kind": Version.Kind.PERCENT,
        "percent_off": Decimal(draw(st.sampled_from([5, 10, 15]))),
        "cap": draw(st.sampled_from([None, Decimal("5")])),
        "threshold": _near(draw, total),
    }


def _refund_steps(draw, basket):
    """Partial refunds (some lines, some units of them), then the rest: [{sku: qty}], None
    for "everything left"."""
    left = {sku: qty for sku, _cat, _unit, qty in basket}
    steps = []
    for _n in range(draw(st.integers(0, 3))):
        open_skus = [sku for sku, qty in left.items() if qty]
        if not open_skus:
            break
        chosen = draw(st.lists(st.sampled_from(open_skus), min_size=1, unique=True))
        step = {sku: draw(st.integers(1, left[sku])) for sku in chosen}
        for sku, qty in step.items():
            left[sku] -= qty
        steps.append(step)
    if any(left.values()):
        steps.append(None)
    return steps


def _lines(basket, qty_of=None):
    return [
        {
            "sku": sku,
            "name": sku,
            "category": category,
            "qty": qty_of[sku] if qty_of else qty,
            "amount": _yuan(unit * (qty_of[sku] if qty_of else qty)),
        }
        for sku, category, unit, qty in basket
        if (qty_of[sku] if qty_of else qty) > 0
    ]


def _d(value):
    return Decimal(str(value))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
def test_after_every_refund_the_member_has_paid_the_quote_of_what_they_kept(
    data, member, check_ledgers
):
    with transaction.atomic():
        _one_example(data, member, check_ledgers)
        transaction.set_rollback(True)


def _one_example(data, member, check_ledgers):
    draw = data.draw
    basket = draw(baskets(), label="basket")
    total = sum((_yuan(unit * qty) for _s, _c, unit, qty in basket), Decimal("0"))
    fresh = sum((_yuan(u * q) for _s, c, u, q in basket if c == "fresh"), Decimal("0"))
    item_terms = _item_coupon(draw, fresh)
    order_terms = _order_coupon(draw, total - fresh * Decimal("0.9"))
    item = give(
        make_template("ITEM", scope=Version.Scope.CATEGORIES, categories="fresh", **item_terms),
        member,
    )
    order = give(make_template("ORDER", **order_terms), member)
    codes = [item.code, order.code]
    store = member.home_store
    grant_points(member, 5000)
    open_wallet(member)
    recharge_wallet(member=member, amount=Decimal("300.00"), store=store, source=Source.ADMIN,
                    key=f"prop:{member.pk}")  # fmt: skip
    points_before = PointsAccount.objects.get(member=member).balance
    stored_before = stored_value_of(member.pk)

    whole = quote_sale(store=store, member=member, lines=_lines(basket), coupon_codes=codes)
    used = [c["code"] for c in whole["coupons"] if c["code"] in codes and c["applicable"]]
    steps = _refund_steps(draw, basket)
    kept_qty = {sku: qty for sku, _c, _u, qty in basket}
    quotes = []
    for step in steps:
        for sku, qty in (step or dict(kept_qty)).items():
            kept_qty[sku] -= qty
        kept = _lines(basket, kept_qty)
        quotes.append(
            quote_sale(store=store, member=member, lines=kept, coupon_codes=used)["amount_due"]
            if kept
            else Decimal("0.00")
        )

    priced = quote_sale(store=store, member=member, lines=_lines(basket), coupon_codes=used)
    step_points = priced["redeem_step"] or 100
    most = priced["max_redeem_points"] // step_points
    least = -(-priced["min_redeem_points"] // step_points)
    redeem = draw(st.sampled_from([0, *range(max(least, 1), most + 1)])) * step_points
    due = priced["amount_due"] - redeem * YUAN_PER_POINT
    stored = _yuan(draw(st.integers(0, int(due / CENT)))) if draw(st.booleans()) else Decimal(0)
    sale = checkout(
        member,
        _lines(basket),
        coupons=used,
        redeem_points=redeem,
        stored_value_amount=stored,
    )
    assert sale.amount_due == priced["amount_due"] - sale.offset_amount

    cash_left = sale.amount_due - sale.stored_value_amount
    paid = sale.amount_due + sale.offset_amount
    for step, quote in zip(steps, quotes, strict=True):
        lines = None if step is None else [{"sku": s, "qty": q} for s, q in step.items()]
        answer = refund_answer(refund(sale, lines))
        cash = _d(answer["cash_returned"])
        assert Decimal(0) <= cash <= cash_left
        cash_left -= cash
        paid -= (
            cash + _d(answer["stored_value_returned"]) + answer["points_returned"] * YUAN_PER_POINT
        )
        assert paid >= 0
        if cash == 0 and paid < quote:
            pass  # owed: the next refunds' cash takes it
        elif cash_left == 0 and paid > quote:
            pass  # the next refunds' stored value and points bring it back
        else:
            assert paid == quote, (step, paid, quote)

    assert paid == 0 and cash_left == 0
    assert PointsAccount.objects.get(member=member).balance == points_before
    assert stored_value_of(member.pk) == stored_before
    statuses = set(Coupon.objects.filter(code__in=used).values_list("status", flat=True))
    assert statuses <= {Coupon.Status.AVAILABLE}
    check_ledgers()
