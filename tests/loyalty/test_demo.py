"""The loyalty demo data: rules once, a year of sales once, ledgers agree."""

from loyalty import demo
from loyalty.models import EarningRule, Gift, GiftStock, RedemptionRule
from members.models import Tier
from sales import demo as sales_demo
from sales.models import Sale


def test_it_seeds_rules_and_history_once(chain, make_member, check_ledgers):
    ctx = {"stores": chain}
    demo.seed_rules(ctx)
    members = [make_member() for _ in range(3)]
    sales_demo.seed_history(ctx)
    counts = [
        Tier.objects.count(),
        EarningRule.objects.count(),
        RedemptionRule.objects.count(),
        Gift.objects.count(),
        GiftStock.objects.count(),
        Sale.objects.count(),
    ]

    demo.seed_rules(ctx)
    sales_demo.seed_history(ctx)

    assert counts == [4, 2, 1, 3, 12, 12]
    assert [
        Tier.objects.count(),
        EarningRule.objects.count(),
        RedemptionRule.objects.count(),
        Gift.objects.count(),
        GiftStock.objects.count(),
        Sale.objects.count(),
    ] == counts
    assert Tier.objects.get(is_default=True).name == "普通会员"
    assert all(m.sales.exists() for m in members)
    check_ledgers()
