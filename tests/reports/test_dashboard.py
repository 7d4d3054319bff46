"""The admin home is the dashboard: 总部看板 for head office, 门店看板 (their stores only) for a
store manager; today live, 7 and 30 days from the aggregates; a bounded number of queries."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import Source
from loyalty.services import adjust_points


def _figure(html, key):
    row = re.search(rf'<tr data-figure="{key}">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r'<td class="num">(.*?)</td>', row)


def test_head_office_sees_the_whole_chain(client, head_office, activity):
    client.force_login(head_office)

    response = client.get(reverse("admin:index"))

    html = response.content.decode()
    assert response.context["title"] == "总部看板"
    today, seven, _thirty = _figure(html, "sales_amount")
    assert today == "1,050.00"
    assert seven == "2,100.00"  # yesterday's three sales (the 7 full days up to yesterday)
    assert _figure(html, "sv_recharged")[0] == "800.00"
    assert _figure(html, "new_members")[0] == "4"
    # liabilities at yesterday's close: the three sales' points, no stored value yet
    liabilities = response.context["dashboard"]["liabilities"]
    assert (liabilities["points"], liabilities["stored_value"]) == (2100, Decimal("0.00"))
    assert "2,100" in html and "¥0.00" in html
    assert html.count('class="report-chart"') == 4


def test_the_sh001_manager_sees_sh001_alone(client, sh001_manager, activity, chain):
    client.force_login(sh001_manager)

    response = client.get(reverse("admin:index"))

    html = response.content.decode()
    assert response.context["title"] == f"门店看板：{chain['SH001']}"
    assert _figure(html, "sv_recharged")[0] == "500.00"
    assert _figure(html, "sales_amount") == ["0.00", "1,000.00", "1,000.00"]
    # 张三's 1,000 points at yesterday's close are SH001's (his home store)
    assert response.context["dashboard"]["liabilities"]["points"] == 1000
    for other in ("北京朝阳店", "BJ001", "800.00"):
        assert other not in html


def test_pending_approvals_are_counted_and_linked(client, head_office, chain, activity, settings):
    settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = 100
    adjust_points(
        member=activity["members"]["li"],
        points=5000,
        reason_category="campaign",
        reason="补发",
        store=chain["BJ001"],
        actor=head_office,
        source=Source.ADMIN,
    )
    client.force_login(head_office)

    html = client.get(reverse("admin:index")).content.decode()

    url = reverse("admin:loyalty_pointsadjustment_changelist") + "?status__exact=pending"
    assert f'<a href="{url}">1</a>' in html


def test_the_dashboard_reads_a_bounded_number_of_rows(
    client, head_office, activity, django_assert_max_num_queries
):
    client.force_login(head_office)
    client.get(reverse("admin:index"))

    with django_assert_max_num_queries(30):
        response = client.get(reverse("admin:index"))

    assert response.status_code == 200


def test_before_the_first_refresh_it_says_so(client, head_office, chain):
    client.force_login(head_office)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "refresh_report_stats" in response.content.decode()
    assert response.context["dashboard"]["liabilities"]["stored_value"] == Decimal("0.00")


def test_members_share_of_sales_needs_the_stores_takings(client, head_office, chain, activity):
    from django.utils import timezone

    from reports.models import StoreTakings

    client.force_login(head_office)
    before = client.get(reverse("admin:index")).content.decode()
    StoreTakings.objects.create(
        store=chain["GZ001"], day=timezone.localdate(), amount=Decimal("2100.00")
    )

    after = client.get(reverse("admin:index")).content.decode()

    assert _figure(before, "share")[0] == "—"
    # GZ001's ¥650 of member sales out of its ¥2,100 (the stores without takings do not count)
    assert _figure(after, "share")[0] == "31.0%"


def _area_manager_and_a_member_in_two_stores(chain, activity, refresh_after):
    from datetime import timedelta

    from django.utils import timezone

    from reports import services
    from stores.roles import STORE_MANAGER
    from tests.conftest import _staff_user
    from tests.factories import StaffFactory
    from tests.reports.conftest import sell

    manager = _staff_user("sh_area_manager", chain["SH001"], STORE_MANAGER)
    if refresh_after:
        StaffFactory(store=chain["SH002"], user=manager, role="manager")
    # 张三 bought in SH001 yesterday; two days ago he bought in SH002 and in SH001, and 王五
    # bought in SH002 yesterday.
    zhang = activity["members"]["zhang"]
    two_days_ago = timezone.now() - timedelta(days=2)
    sell(zhang, chain["SH002"], "20.00", at=two_days_ago)
    sell(zhang, chain["SH001"], "30.00", at=two_days_ago)
    services.refresh_daily_stats(source=Source.COMMAND)  # the nightly run: yesterday, today
    if not refresh_after:  # given SH002 after the job ran: counted live until it runs again
        StaffFactory(store=chain["SH002"], user=manager, role="manager")
    return manager


@pytest.mark.parametrize("counted_by_the_job", [True, False])
def test_a_member_active_in_two_of_a_managers_stores_counts_once(
    client, chain, activity, counted_by_the_job
):
    from reports.models import ScopeActivity

    manager = _area_manager_and_a_member_in_two_stores(chain, activity, counted_by_the_job)
    client.force_login(manager)
    key = ScopeActivity.key([chain["SH001"].pk, chain["SH002"].pk])
    # The job counted the new group's whole month, not only the two days it refreshed.
    assert ScopeActivity.objects.filter(scope=key).count() == (31 if counted_by_the_job else 0)

    response = client.get(reverse("admin:index"))

    # 张三 and 王五: two members, though SH001 counts 张三 and SH002 counts both.
    assert _figure(response.content.decode(), "active_members")[1:] == ["2", "2"]
    # The daily line: 张三 alone two days ago (in both stores), 张三 and 王五 yesterday.
    trend = response.context["dashboard"]["charts"][0]
    line = next(s for s in trend["series"] if s["type"] == "line")["data"]
    assert line[-3:-1] == [1, 2]
    if counted_by_the_job:  # the page read the job's row, not the sales
        ScopeActivity.objects.filter(scope=key).update(active_members_30=99)
        html = client.get(reverse("admin:index")).content.decode()
        assert _figure(html, "active_members")[2] == "99"


def test_a_day_the_job_counted_before_it_ended_is_counted_again(client, chain, activity):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from reports import services
    from reports.models import ScopeActivity

    manager = _area_manager_and_a_member_in_two_stores(chain, activity, True)
    key = ScopeActivity.key([chain["SH001"].pk, chain["SH002"].pk])
    yesterday = timezone.localdate() - timedelta(days=1)
    # Yesterday as a run at 00:40 yesterday left it (then the group ceased to exist and came
    # back: nothing counted it again after the day ended).
    early = timezone.make_aware(datetime.combine(yesterday, time(0, 40)))
    ScopeActivity.objects.filter(scope=key, day=yesterday).update(
        active_members_30=99, refreshed_at=early
    )
    client.force_login(manager)

    html = client.get(reverse("admin:index")).content.decode()
    services.refresh_daily_stats(first_day=timezone.localdate(), source=Source.COMMAND)

    assert _figure(html, "active_members")[1:] == ["2", "2"]  # counted live meanwhile
    assert ScopeActivity.objects.get(scope=key, day=yesterday).active_members_30 == 2
