"""The points liability is what the members' balances hold: a lot past its expiry that the
nightly job has not expired yet is still in a balance, so it is still owed (shown apart: it
can no longer be redeemed and will expire at the next run)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.db.models import Sum
from django.urls import reverse

from core.models import Source
from loyalty.ledger import post_points_entry
from loyalty.models import PointsAccount, PointsEntry
from reports.reports import BY_SLUG, Scope

from .conftest import make_member, sell

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 10, 9, tzinfo=SH)


def _scenario(chain):
    """张三 earns 1,000 points in SH001 (expiring next year) and gets 150 bonus points in
    BJ001 that expired yesterday; the nightly expiry has not run since."""
    zhang = make_member(chain["SH001"], name="张三")
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        sell(zhang, chain["SH001"], "1000.00")
        post_points_entry(member=zhang, points=150, kind=PointsEntry.Kind.BONUS,
                          source=Source.ADMIN, store=chain["BJ001"], reason="活动",
                          expires_at=NOW - timedelta(days=1))  # fmt: skip
    return zhang


def test_the_liability_equals_the_balances_before_the_nightly_expiry(
    chain, report_rules, check_ledgers
):
    _scenario(chain)
    check_ledgers()
    with time_machine.travel(NOW, tick=False):
        result = BY_SLUG["points-liability"].build(Scope(user=None, stores=None))

    table = result.tables[0]
    balances = PointsAccount.objects.aggregate(total=Sum("balance"))["total"]
    assert balances == 1150
    assert table.total["points"] == balances
    due = {row["store"]: row["due_points"] for row in table.rows if row["due_points"]}
    assert due == {"BJ001 北京朝阳店": 150}
    assert table.total["due_points"] == 150
    # Past their expiry they can no longer be redeemed: expected breakage, not value.
    (bj,) = [row for row in table.rows if row["store"] == "BJ001 北京朝阳店"]
    assert bj["breakage_points"] == 150 and bj["expected_value"] == Decimal("0.00")


def test_the_page_shows_the_points_awaiting_expiry(client, head_office, chain, report_rules):
    _scenario(chain)
    client.force_login(head_office)
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("admin:reports_report", args=["points-liability"])).content

    page = html.decode()
    assert "1,150" in page
    assert "已过期待清零" in page
