"""The pages people look at, in a real browser (Playwright driving Debian's chromium): the segment
editor builds conditions and shows the live count as they change, and the campaign report
draws its charts and warns when the arms' sizes are off."""

import json
import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from campaigns.models import Campaign, CampaignMember, Segment
from campaigns.services import deliver_offers, launch_campaign
from core.models import Source
from tests.campaigns.conftest import NOW, balanced_salt, buy, make_campaign, make_segment

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("rules"),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "Debian's chromium is required (bin/services installs it)"
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def logged_in(browser, live_server, user):
    """A chromium page with `user`'s session (made by Django's test client)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return tab


@pytest.fixture
def page(browser, live_server, head_office):
    return logged_in(browser, live_server, head_office)


@pytest.fixture
def shoppers(make_member, tiers, chain):
    members = []
    for code, count in (("SH001", 6), ("BJ001", 4), ("GZ001", 2)):
        for i in range(count):
            member = make_member(tier=tiers["normal"], store=chain[code])
            buy(member, 40 + 5 * i, NOW - timedelta(days=10))
            members.append(member)
    return members


def test_the_segment_editor_shows_the_live_count_as_conditions_change(page, live_server, shoppers):
    page.goto(f"{live_server.url}/admin/campaigns/segment/add/")
    count = page.locator("#segment-count")
    page.wait_for_function("document.querySelector('#segment-count').textContent === '12'")

    page.click(".seg-add-condition")
    page.select_option(".seg-condition .seg-field", "home_store")
    page.select_option(".seg-condition .seg-choices", ["SH001"])
    page.wait_for_function("document.querySelector('#segment-count').textContent === '6'")
    assert page.locator("#segment-sample tbody tr").count() == 6

    page.check(".seg-not-box")
    page.wait_for_function("document.querySelector('#segment-count').textContent === '6'")
    page.select_option(".seg-condition .seg-choices", ["SH001", "BJ001"])
    page.wait_for_function("document.querySelector('#segment-count').textContent === '2'")
    assert count.text_content() == "2"

    page.fill("#id_name", "非沪京会员")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/segment/")
    saved = Segment.objects.get(name="非沪京会员")
    assert saved.definition == {
        "not": {"all": [{"field": "home_store", "cmp": "in", "value": ["BJ001", "SH001"]}]}
    }


def test_the_editor_shows_what_is_wrong_with_a_condition(page, live_server, shoppers):
    page.goto(f"{live_server.url}/admin/campaigns/segment/add/")
    page.wait_for_function("document.querySelector('#segment-count').textContent === '12'")

    page.click(".seg-add-condition")
    page.select_option(".seg-condition .seg-field", "r_score")
    page.fill(".seg-condition input.seg-value", "9")

    page.wait_for_selector("#segment-errors li")
    assert "5" in page.locator("#segment-errors li").first.text_content()
    assert page.locator("#segment-count").text_content() == "-"


def test_the_report_draws_its_charts_and_warns_on_a_broken_split(
    page, live_server, shoppers, cash10
):
    campaign = make_campaign(  # 4 to 8 of the 12 in control: neither empty nor lopsided
        make_segment({"all": []}),
        coupon_template=cash10,
        control_percent=30,
        salt=balanced_salt(shoppers, 30, least=4),
    )
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    for i, member in enumerate(shoppers):
        buy(member, Decimal(30 + 7 * i), NOW + timedelta(days=2 + i % 5))
    url = f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/report/"

    page.goto(url)

    page.wait_for_selector("#chart-arms[data-rendered='1'] canvas")
    page.wait_for_selector("#chart-series[data-rendered='1'] canvas")
    assert page.locator("#srm-warning").count() == 0
    assert page.locator("#r-issued").text_content().strip() == str(campaign.members.filter(
        arm="treatment").count())  # fmt: skip
    charts = json.loads(page.locator("#campaign-charts").text_content())
    assert len(charts["series"]["treatment"]) == campaign.measure_days

    # Most of the treatment arm vanishes: the page must say the split is broken.
    treated = CampaignMember.objects.filter(campaign=campaign, arm="treatment")
    CampaignMember.objects.filter(pk__in=list(treated.values_list("pk", flat=True)[2:])).delete()
    assert CampaignMember.objects.filter(campaign=campaign, arm="control").exists()
    Campaign.objects.filter(pk=campaign.pk).update(control_percent=Decimal("1"))
    page.goto(url)
    page.wait_for_selector("#srm-warning")


def test_a_manager_sees_a_segments_count_of_their_own_stores(
    browser, live_server, shoppers, sh001_manager
):
    segment = make_segment({"all": [{"field": "store_kind", "cmp": "in", "value": ["direct"]}]})
    tab = logged_in(browser, live_server, sh001_manager)

    tab.goto(f"{live_server.url}/admin/campaigns/segment/{segment.pk}/change/")

    tab.wait_for_function("document.querySelector('#segment-count').textContent === '6'")
    assert tab.locator("input[name=_save]").count() == 0  # view only
    stores = tab.locator("#segment-sample tbody tr td:nth-child(4)").all_text_contents()
    assert set(stores) == {"SH001"}
