"""Words that say what the figures mean (issue 20): a member who stopped coming is 流失, a card
reported lost is 已挂失 (one English "Lost", two Chinese words: msgctxt); an available coupon
past its last day is 已过期, as the member statistics count it; people are whole people."""

import json
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import LapseStage, MemberStats
from campaigns.statistics import refresh_member_stats
from core.models import Source
from coupons.models import Coupon
from coupons.services import issue_coupon
from members.models import Card
from members.services import generate_card_batch, report_card_lost_and_replace
from tests.campaigns.conftest import buy

pytestmark = pytest.mark.usefixtures("rules")


@pytest.fixture
def lapsed_and_lost(make_member, tiers, chain, head_office):
    """王五 came twice, a month apart, more than a year ago (lapse stage 流失) and holds an
    active card; 李四 buys every week and reported his card lost."""
    now = timezone.now()
    batch = generate_card_batch(prefix="77", count=3, source=Source.ADMIN, actor=head_office)
    first, lost_card, new_card = batch.cards.order_by("card_no")
    lapsed, regular = make_member(tier=tiers["normal"]), make_member(tier=tiers["normal"])
    for member, name in ((lapsed, "王五"), (regular, "李四")):
        member.name = name
        member.save(update_fields=["name"])
    Card.objects.filter(pk=first.pk).update(member=lapsed, status=Card.Status.ACTIVE)
    Card.objects.filter(pk=lost_card.pk).update(member=regular, status=Card.Status.ACTIVE)
    lost_card.refresh_from_db()
    report_card_lost_and_replace(card=lost_card, new_card_no=new_card.card_no,
                                 source=Source.ADMIN, actor=head_office)  # fmt: skip
    buy(lapsed, "80.00", now - timedelta(days=400))
    buy(lapsed, "80.00", now - timedelta(days=370))
    for week in range(6, 0, -1):
        buy(regular, "30.00", now - timedelta(days=7 * week))
    refresh_member_stats(source=Source.COMMAND)
    assert MemberStats.objects.get(member=lapsed).lapse_stage == LapseStage.LOST
    assert MemberStats.objects.get(member=regular).lapse_stage == LapseStage.ACTIVE
    return lapsed, regular


def _member_page(client, member):
    return client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()


def test_a_lapsed_member_is_shown_as_lost_to_the_chain_not_as_a_lost_card(
    client, head_office, lapsed_and_lost
):
    lapsed, regular = lapsed_and_lost
    client.force_login(head_office)

    lapsed_page, regular_page = _member_page(client, lapsed), _member_page(client, regular)
    cards = client.get(reverse("admin:members_card_changelist")).content.decode()

    assert "流失" in lapsed_page and "已挂失" not in lapsed_page
    assert "已挂失" not in regular_page.split("stats-panel")[1]  # his stage is 活跃
    assert "活跃" in regular_page
    assert "已挂失" in cards and "流失" not in cards


def test_the_segment_sample_and_export_call_a_lapsed_member_lost_to_the_chain(
    client, head_office, lapsed_and_lost
):
    from campaigns.models import Segment
    from campaigns.services import save_segment

    lapsed, _regular = lapsed_and_lost
    client.force_login(head_office)
    definition = {"all": [{"field": "lapse_stage", "cmp": "in", "value": ["lost"]}]}

    preview = client.post(
        reverse("admin:campaigns_segment_preview"), {"definition": json.dumps(definition)}
    ).json()
    segment = save_segment(segment=Segment(name="流失会员"), definition=definition)
    book = load_workbook(BytesIO(client.get(
        reverse("admin:campaigns_segment_export", args=[segment.pk])).content))  # fmt: skip

    assert [(row["name"], row["stage"]) for row in preview["sample"]] == [("王五", "流失")]
    rows = list(book.active.iter_rows(values_only=True))
    stage = rows[0].index("流失阶段") if "流失阶段" in rows[0] else 15
    assert rows[1][1] == "王五" and rows[1][stage] == "流失"


def test_an_expired_coupon_is_shown_expired_on_the_member_page_as_the_statistics_count_it(
    client, head_office, make_member, tiers, cash10
):
    member = make_member(tier=tiers["normal"])
    coupons = [
        issue_coupon(template=cash10, member=member, occasion=f"words-{n}", source=Source.ADMIN)
        for n in range(5)
    ]
    # Two are past their last second; the nightly job has not swept them yet.
    Coupon.objects.filter(pk__in=[c.pk for c in coupons[:2]]).update(
        valid_until=timezone.now() - timedelta(days=1)
    )
    refresh_member_stats(source=Source.COMMAND)
    client.force_login(head_office)

    page = _member_page(client, member)
    panel = page.split("coupons-panel")[1].split("</table>")[0]

    unused = MemberStats.objects.get(member=member).unused_coupons
    assert unused == 3
    assert panel.count('<td class="coupon-status">可用</td>') == unused
    assert panel.count('<td class="coupon-status">已过期</td>') == 2
    assert "可用 (" not in panel


@pytest.fixture
def uneven(make_member, tiers, cash10):
    """24 members in a launched coupon campaign whose arms differ in size (7, 9 or 10 in one
    arm; not 8, as 16 / 8 is whole), so conversion differences times members are fractions of
    people."""
    import itertools

    from campaigns.assignment import BUCKETS, bucket
    from campaigns.models import CampaignMember
    from campaigns.services import deliver_offers, launch_campaign
    from tests.campaigns.conftest import NOW, make_campaign, make_segment

    members = [make_member(tier=tiers["normal"]) for _ in range(24)]
    cut = BUCKETS // 2
    salt = next(
        salt for salt in (f"uneven-{n}" for n in itertools.count())
        if sum(bucket(salt, m.pk) < cut for m in members) in (7, 9, 10)
    )  # fmt: skip
    campaign = make_campaign(make_segment({"all": []}), coupon_template=cash10,
                             control_percent=50, salt=salt)  # fmt: skip
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)
    deliver_offers(campaign=campaign, day=NOW.date(), source=Source.TASK, at=NOW)
    arms = dict(CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "arm"))
    treated = [m for m in members if arms[m.pk] == "treatment"]
    control = [m for m in members if arms[m.pk] == "control"]
    campaign.refresh_from_db()
    return campaign, treated, control


def test_incremental_buyers_are_whole_people_in_the_report_its_page_and_its_export(
    client, head_office, uneven
):
    """(treated conversion - control conversion) x treated members estimates people: 4 of the
    treated and 1 of the control buy, so with unequal arms it is a fraction of a person."""
    from tests.campaigns.conftest import NOW
    from tests.campaigns.test_report import AS_OF

    campaign, treated, control = uneven
    for member in treated[:4] + control[:1]:
        buy(member, "60.00", NOW + timedelta(days=2))
    exact = (4 / len(treated) - 1 / len(control)) * len(treated)
    client.force_login(head_office)

    from campaigns.report import campaign_report

    report = campaign_report(campaign, as_of=AS_OF)
    page = client.get(reverse("admin:campaigns_campaign_report", args=[campaign.pk]))
    export = client.get(reverse("admin:campaigns_campaign_report_export", args=[campaign.pk]))
    book = load_workbook(BytesIO(export.content))

    whole = int(Decimal(str(exact)).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert exact != whole  # the arms are unequal: the estimate is a fraction of a person
    assert report["incremental_buyers"] == whole and isinstance(report["incremental_buyers"], int)
    shown = page.content.decode().split('id="r-incremental-buyers">')[1].split("<")[0]
    assert shown == f"{page.context['report']['incremental_buyers']:,}"
    cells = {row[0].value: row[1] for row in book["概要"].iter_rows() if row[0].value}
    cell = cells["增量消费人数"]
    assert isinstance(cell.value, int) and cell.number_format == "#,##0"
