"""Segments: conditions joined with AND / OR / NOT over statistics and profile, evaluated in SQL;
bad definitions are refused with every problem named; the hash names what was meant."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.models import LapseStage
from campaigns.segments import (
    InvalidSegment,
    clean_definition,
    count_members,
    definition_hash,
    describe,
    member_queryset,
    sample_members,
)
from campaigns.statistics import refresh_member_stats
from core.models import Source
from members.models import Member, Tag
from tests.campaigns.conftest import NOW, buy, days_ago

pytestmark = pytest.mark.usefixtures("rules")


def matched(definition, **kwargs):
    return set(member_queryset(definition, at=NOW, **kwargs).values_list("pk", flat=True))


@pytest.fixture
def people(make_member, tiers, chain):
    """Four members with different habits, statistics refreshed as of NOW."""
    frequent = make_member(tier=tiers["gold"], store=chain["SH001"], birthday=date(1990, 6, 3))
    lapsed = make_member(tier=tiers["silver"], store=chain["GZ001"], birthday=date(1985, 12, 1))
    newcomer = make_member(tier=tiers["normal"], store=chain["BJ001"], birthday=date(2000, 6, 1))
    closed = make_member(tier=tiers["gold"], store=chain["SH001"], status=Member.Status.CLOSED)
    for n in range(10, 0, -1):
        buy(frequent, "120.00", days_ago(3 * n))
    buy(lapsed, "50.00", days_ago(200))
    buy(lapsed, "50.00", days_ago(170))
    buy(closed, "500.00", days_ago(8))
    frequent.tags.add(Tag.objects.create(name="VIP"))
    refresh_member_stats(as_of=NOW, source=Source.COMMAND)
    return {"frequent": frequent, "lapsed": lapsed, "newcomer": newcomer, "closed": closed}


def test_an_empty_definition_is_every_active_member(people):
    assert matched({"all": []}) == {p.pk for k, p in people.items() if k != "closed"}


def test_and_or_not_combine_conditions(people):
    frequent, lapsed, newcomer = people["frequent"], people["lapsed"], people["newcomer"]
    visits = {"field": "visits_90", "cmp": ">=", "value": 5}
    gold = {"field": "tier", "cmp": "in", "value": ["gold"]}
    franchise = {"field": "store_kind", "cmp": "in", "value": ["franchise"]}

    assert matched({"all": [visits, gold]}) == {frequent.pk}
    assert matched({"any": [visits, franchise]}) == {frequent.pk, lapsed.pk}
    assert matched({"all": [{"not": visits}]}) == {lapsed.pk, newcomer.pk}
    assert matched({"not": {"any": [visits, franchise]}}) == {newcomer.pk}


def test_not_of_a_missing_statistic_counts_as_not_true(people):
    # The newcomer never bought: no average ticket. "Average ticket ≥ 100" is not true for
    # them, so "not (average ticket ≥ 100)" includes them rather than dropping them.
    ticket = {"field": "avg_ticket", "cmp": ">=", "value": "100"}
    assert people["newcomer"].pk not in matched(ticket)
    assert people["newcomer"].pk in matched({"not": ticket})


def test_each_kind_of_condition(people, chain):
    frequent, lapsed, newcomer = people["frequent"], people["lapsed"], people["newcomer"]
    cases = [
        ({"field": "spend_365", "cmp": "between", "value": ["50", "150"]}, {lapsed.pk}),
        ({"field": "days_since_last_visit", "cmp": ">", "value": 100}, {lapsed.pk}),
        ({"field": "no_purchase_days", "cmp": ">=", "value": 60}, {lapsed.pk, newcomer.pk}),
        ({"field": "lapse_stage", "cmp": "in", "value": ["never"]}, {newcomer.pk}),
        ({"field": "lapse_stage", "cmp": "in", "value": ["active"]}, {frequent.pk}),
        ({"field": "lapse_stage", "cmp": "in", "value": ["warning", "dormant", "lost"]},
         {lapsed.pk}),
        ({"field": "rfm_cell", "cmp": "in", "value": ["hhh"]}, {frequent.pk}),
        ({"field": "birthday_month", "cmp": "in", "value": [6]}, {frequent.pk, newcomer.pk}),
        ({"field": "birthday_within", "cmp": "<=", "value": 0}, {newcomer.pk}),
        ({"field": "birthday_within", "cmp": "<=", "value": 2}, {frequent.pk, newcomer.pk}),
        ({"field": "home_store", "cmp": "in", "value": ["BJ001", "GZ001"]},
         {lapsed.pk, newcomer.pk}),
        ({"field": "favourite_store", "cmp": "in", "value": ["SH001"]}, {frequent.pk}),
        ({"field": "tag", "cmp": "in", "value": ["VIP"]}, {frequent.pk}),
        ({"field": "visits_to_next_tier", "cmp": "<=", "value": 100}, {lapsed.pk}),
        ({"field": "visits_to_next_tier", "cmp": "<=", "value": 200}, {frequent.pk, lapsed.pk}),
        ({"field": "r_score", "cmp": "=", "value": 5}, {frequent.pk}),
    ]  # fmt: skip
    for condition, expected in cases:
        assert matched(condition) == expected, condition


def test_lapse_stage_is_live_from_the_last_visit(people):
    # The lapsed member comes back today: no longer lapsing, before any nightly refresh.
    warning = {"field": "lapse_stage", "cmp": "in", "value": [LapseStage.WARNING]}
    assert people["lapsed"].pk in matched(warning)
    buy(people["lapsed"], "10.00", NOW)
    assert people["lapsed"].pk not in matched(warning)


def test_count_sample_and_store_scope_agree(people, chain):
    definition = {"all": []}
    assert count_members(definition, at=NOW) == 3
    assert {m.pk for m in sample_members(definition, at=NOW)} == matched(definition)
    assert count_members(definition, at=NOW, store_ids={chain["SH001"].pk}) == 1
    assert [m.pk for m in sample_members(definition, at=NOW, store_ids=set())] == []


@pytest.mark.parametrize(
    "definition, problem",
    [
        ("{not json", "JSON"),
        ({"all": [{"field": "salary", "cmp": ">=", "value": 1}]}, "salary"),
        ({"all": [{"field": "visits_90", "cmp": "like", "value": 1}]}, "like"),
        ({"all": [{"field": "visits_90", "cmp": ">=", "value": "many"}]}, "1"),
        ({"all": [{"field": "visits_90", "cmp": ">=", "value": 1.5}]}, "1"),
        ({"all": [{"field": "r_score", "cmp": ">=", "value": 9}]}, "1"),
        ({"all": [{"field": "spend_30", "cmp": "between", "value": [100, 10]}]}, "1"),
        ({"all": [{"field": "tier", "cmp": "in", "value": ["platinum"]}]}, "platinum"),
        ({"all": [{"field": "lapse_stage", "cmp": "in", "value": ["asleep"]}]}, "asleep"),
        ({"all": [{"field": "tier", "cmp": "in", "value": []}]}, "1"),
        ({"all": {"field": "visits_90"}}, ""),
        ({"all": [], "any": []}, ""),
        ({"all": [{"field": "visits_90", "cmp": ">=", "value": 1, "sql": "1=1"}]}, "1"),
        ({"not": {"not": {"not": {"not": {"not": {"not": {"not": {"all": []}}}}}}}}, "not"),
    ],
)
def test_bad_definitions_are_refused_naming_the_problem(tiers, definition, problem):
    with pytest.raises(InvalidSegment) as refused:
        clean_definition(definition)
    messages = refused.value.fields["definition"]
    assert messages and problem in " ".join(messages)


def test_every_problem_is_named_at_once(tiers):
    with pytest.raises(InvalidSegment) as refused:
        clean_definition(
            {
                "all": [
                    {"field": "nope", "cmp": ">=", "value": 1},
                    {"any": [{"field": "tier", "cmp": "in", "value": ["x"]}]},
                ]
            }
        )
    messages = refused.value.fields["definition"]
    assert len(messages) == 2
    assert messages[0].startswith("1:") and messages[1].startswith("2.1:")


def test_the_hash_names_the_meaning_not_the_spelling(tiers):
    one = {"all": [{"field": "tier", "cmp": "in", "value": ["gold", "silver"]}]}
    same = {"all": [{"value": ["silver", "gold", "gold"], "cmp": "in", "field": "tier"}]}
    other = {"all": [{"field": "tier", "cmp": "in", "value": ["gold"]}]}
    assert definition_hash(one) == definition_hash(same)
    assert definition_hash(one) != definition_hash(other)


def test_values_are_parameters_never_sql(people):
    sneaky = {"field": "tag", "cmp": "in", "value": ["VIP') OR 1=1 --"]}
    with pytest.raises(InvalidSegment):
        clean_definition({"all": [sneaky]})
    Tag.objects.create(name="x' OR '1'='1")
    assert matched({"field": "tag", "cmp": "in", "value": ["x' OR '1'='1"]}) == set()


def test_a_definition_reads_in_words(tiers):
    text = describe(
        {
            "all": [
                {"field": "visits_90", "cmp": ">=", "value": 3},
                {"not": {"field": "tier", "cmp": "in", "value": ["gold"]}},
            ]
        }
    )
    assert "3" in text and "gold" in text


def test_money_values_keep_two_decimals(tiers):
    cleaned = clean_definition({"field": "spend_30", "cmp": ">=", "value": 99.999})
    assert cleaned == {"all": [{"field": "spend_30", "cmp": ">=", "value": "100.00"}]}
    assert Decimal(cleaned["all"][0]["value"]) == Decimal("100.00")
