"""Retention: only tiers counted over the last 12 months are reviewed, one step down a month;
the tier form refuses a retention threshold on a lifetime tier."""

from datetime import date, datetime
from decimal import Decimal

import time_machine
from django.urls import reverse

from loyalty.services import review_tiers
from members.models import Tier, TierChange
from tests.sales.test_sales import SH, sell

from .conftest import line


def _rolling(tier, retain):
    Tier.objects.filter(pk=tier.pk).update(window=Tier.Window.ROLLING, retain_spend=retain)


def test_a_lifetime_tier_is_never_reviewed_away(chain, rules, member, check_ledgers):
    # legacy data: a retention threshold on a tier counted over a lifetime
    Tier.objects.filter(pk=rules["silver"].pk).update(retain_spend=Decimal("500"))
    with time_machine.travel(datetime(2025, 1, 10, tzinfo=SH), tick=False):
        sell(member, chain["SH001"], "R1", lines=[line(amount="1200.00")], at=None)

    moved = review_tiers(as_of=date(2026, 6, 1), source="task")
    with time_machine.travel(datetime(2026, 6, 2, tzinfo=SH), tick=False):
        sale = sell(member, chain["SH001"], "R2", lines=[line(amount="1.00")], at=None)

    member.refresh_from_db()
    assert moved == 0 and member.tier == rules["silver"]
    assert not sale.tier_changed  # the ¥1 sale no longer bounces the member back
    check_ledgers()


def test_the_review_moves_one_step_down_a_month(chain, rules, member, check_ledgers):
    for tier in ("silver", "gold", "diamond"):
        _rolling(rules[tier], Decimal("100"))
    with time_machine.travel(datetime(2025, 1, 10, tzinfo=SH), tick=False):
        sell(member, chain["SH001"], "R1", lines=[line(amount="25000.00")], at=None)
    member.refresh_from_db()
    assert member.tier == rules["diamond"]

    tiers = []
    for month in (2, 3, 4, 5):
        review_tiers(as_of=date(2026, month, 1), source="task")
        member.refresh_from_db()
        tiers.append(member.tier.code)

    assert tiers == ["gold", "silver", "normal", "normal"]
    assert TierChange.objects.filter(reason="downgrade").count() == 3
    check_ledgers()


def test_the_tier_form_refuses_retention_on_a_lifetime_tier(client, head_office, rules):
    client.force_login(head_office)
    url = reverse("admin:members_tier_change", args=[rules["gold"].pk])
    form = {
        "rank": 2,
        "code": "gold",
        "name": "金卡会员",
        "upgrade_spend": "5000",
        "threshold_logic": "any",
        "retain_spend": "2500",
        "points_multiplier": "1.50",
        "discount_percent": "0.00",
        "birthday_bonus": 200,
    }

    lifetime = client.post(url, {**form, "window": "lifetime"})
    rolling = client.post(url, {**form, "window": "rolling12"})

    assert lifetime.status_code == 200  # the form again, with the error
    assert "retain_spend" in lifetime.context["adminform"].form.errors
    assert rolling.status_code == 302
    rules["gold"].refresh_from_db()
    assert rules["gold"].window == "rolling12" and rules["gold"].retain_spend == Decimal("2500")
