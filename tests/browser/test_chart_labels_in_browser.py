"""Chart labels and tooltips read as the tables do (issue 20): in a real browser, every text the
charts of the dashboard, of every report and of a campaign's report draw (data labels, axis
labels, mark lines: read from each chart's display list) and the tooltip shown at every data
point, for a head-office user. None may show a float with more than two decimals (54.9536) or
a number of four digits or more without thousands separators (1050 for ¥1,050.00)."""

import itertools
import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.browser_support import charts_drawn
from tests.reports.conftest import activity, report_rules, sell  # noqa: F401

LONG_FLOAT = re.compile(r"\d\.\d{3,}")
UNGROUPED = re.compile(r"(?<![\d,.])\d{4,}(?![\d,-])")  # a year-month (2026-12) is a date

# Every text drawn on each chart of the page, then the tooltip at every data point of every
# series (ECharts' own showTip action, as a pointer resting on the point would show it).
READ_CHARTS = """async (selector) => {
  const pause = () => new Promise((done) => setTimeout(done, 30));
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    const chart = echarts.getInstanceByDom(el);
    if (!chart) continue;
    for (const node of chart.getZr().storage.getDisplayList(true)) {
      const text = node.style && node.style.text;
      if (text !== undefined && text !== null && String(text).trim() !== "") {
        out.push([el.id, "label", String(text)]);
      }
    }
    const series = chart.getOption().series || [];
    for (let s = 0; s < series.length; s++) {
      const points = (series[s].data || []).length;
      for (let i = 0; i < points; i++) {
        chart.dispatchAction({ type: "showTip", seriesIndex: s, dataIndex: i });
        await pause();
        const tip = el.querySelector(".chart-tooltip") ||
          Array.from(el.querySelectorAll("div")).find((d) => d.style.zIndex === "9999999");
        if (tip && tip.innerText.trim()) out.push([el.id, "tooltip", tip.innerText]);
      }
      chart.dispatchAction({ type: "hideTip" });
    }
  }
  return out;
}"""


def _problems(where, texts):
    return [
        (where, chart, kind, text)
        for chart, kind, text in texts
        if LONG_FLOAT.search(text) or UNGROUPED.search(text)
    ]


def _campaign(activity):  # noqa: F811
    """A launched coupon campaign over the four members of `activity`, three of them treated,
    entered five days ago (so their sales of yesterday and today count); one treated member
    spends ¥100.01 or ¥100.02 more, so the treated arm's sales per member (a third of its
    sales) have more than two decimals."""
    from campaigns.assignment import BUCKETS, bucket
    from campaigns.models import Campaign, CampaignMember, Segment
    from campaigns.services import deliver_offers, launch_campaign, save_segment
    from core.models import Source
    from tests.coupons.conftest import make_template

    members = list(activity["members"].values())
    cut = BUCKETS * 25 // 100
    salt = next(
        salt for salt in (f"charts-{n}" for n in itertools.count())
        if sum(bucket(salt, m.pk) < cut for m in members) == 1
    )  # fmt: skip
    template = make_template("CHART10", face_value=Decimal("10"), threshold=Decimal("50"))
    segment = save_segment(segment=Segment(name="全部会员"), definition={"all": []})
    campaign = Campaign.objects.create(
        code="CHARTS", name="图表活动", segment=segment, coupon_template=template,
        control_percent=Decimal("25"), measure_days=30, salt=salt,
    )  # fmt: skip
    launched = timezone.now() - timedelta(days=5)
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=launched)
    deliver_offers(campaign=campaign, day=launched.date(), source=Source.TASK, at=launched)
    arms = dict(CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "arm"))
    treated = [m for m in members if arms[m.pk] == "treatment"]
    assert len(treated) == 3
    from campaigns.report import campaign_report

    sales = Decimal(str(campaign_report(campaign)["arms"]["treatment"]["sales"]))
    extra = next(x for x in (Decimal("100.01"), Decimal("100.02")) if (sales + x) * 100 % 3)
    sell(treated[0], treated[0].home_store, str(extra))
    return campaign


def test_chart_labels_and_tooltips_are_formatted_on_every_chart(login, head_office, activity):  # noqa: F811
    from campaigns.report import campaign_report
    from core.formatting import format_money

    campaign = _campaign(activity)
    per_member = campaign_report(campaign)["arms"]["treatment"]["sales_per_member"]
    spent = format_money(per_member)  # as the table beside the chart shows it
    assert round(per_member, 2) != per_member  # more than two decimals, unformatted
    page = login(head_office)
    base = page.url.split("/admin/")[0]
    problems, seen = [], 0

    assert charts_drawn(page) == 4
    texts = page.evaluate(READ_CHARTS, ".report-chart")
    seen += len(texts)
    problems += _problems("dashboard", texts)
    links = page.locator("#reports-menu a[data-report]:not([data-report=campaigns])")
    slugs = [links.nth(i).get_attribute("data-report") for i in range(links.count())]
    assert len(slugs) == 7
    for slug in slugs:
        page.goto(f"{base}/admin/report/{slug}/")
        assert charts_drawn(page) >= 1, slug
        texts = page.evaluate(READ_CHARTS, ".report-chart")
        seen += len(texts)
        problems += _problems(slug, texts)
    page.goto(f"{base}/admin/campaigns/campaign/{campaign.pk}/report/")
    page.wait_for_selector("#chart-arms[data-rendered]")
    texts = page.evaluate(READ_CHARTS, "#chart-arms, #chart-series, #chart-lift")
    assert any(kind == "tooltip" for _c, kind, _t in texts)
    assert any(spent in text for chart, _k, text in texts if chart == "chart-arms")
    seen += len(texts)
    problems += _problems("campaign report", texts)

    assert seen > 100  # labels and tooltips were read
    assert not problems, "\n".join(map(repr, problems))
