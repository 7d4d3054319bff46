"""Every change of a member and of a rule records who, where and why."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty.models import EarningRule
from members.models import Member, Tag, Tier, TierChange
from members.services import (
    change_members_tier,
    open_member,
    set_members_status,
    tag_members,
    update_member_profile,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers(db):
    return (
        Tier.objects.create(code="normal", name="普通会员", rank=0, is_default=True),
        Tier.objects.create(code="gold", name="金卡会员", rank=2),
    )


@pytest.fixture
def zhang(chain, tiers, head_office):
    return open_member(
        phone="13812345678",
        name="张三",
        home_store=chain["SH001"],
        source="admin",
        actor=head_office,
    )


def _last(member):
    return Member.history.filter(id=member.pk).order_by("-history_id").first()


def test_opening_a_card_is_the_first_history_record(zhang, head_office):
    record = _last(zhang)
    assert (record.history_type, record.history_user, record.history_source) == (
        "+",
        head_office,
        "admin",
    )


def test_a_tier_changed_on_the_member_page_writes_a_tier_change(zhang, tiers, head_office):
    update_member_profile(member=zhang, tier=tiers[1], source="admin", actor=head_office)

    change = TierChange.objects.get(member=zhang)
    assert (change.reason, change.from_tier, change.to_tier, change.actor, change.source) == (
        "manual",
        tiers[0],
        tiers[1],
        head_office,
        "admin",
    )
    assert _last(zhang).tier == tiers[1] and _last(zhang).history_user == head_office


def test_the_bulk_tier_change_logs_each_member_with_who_and_where(chain, zhang, tiers, head_office):
    other = open_member(phone="13812345679", home_store=chain["SH001"], source="admin")
    already = open_member(
        phone="13812345670", home_store=chain["SH001"], source="admin", tier=tiers[1]
    )

    moved = change_members_tier(
        members=Member.objects.all(), tier=tiers[1], source="admin", actor=head_office
    )

    assert moved == 2
    changes = TierChange.objects.order_by("member_id")
    assert [c.member_id for c in changes] == [zhang.pk, other.pk]
    assert all(c.actor == head_office and c.source == "admin" for c in changes)
    assert not TierChange.objects.filter(member=already).exists()
    assert _last(other).tier == tiers[1] and _last(other).history_source == "admin"


def test_freezing_and_tagging_go_into_each_members_history(zhang, head_office):
    set_members_status(
        members=Member.objects.filter(pk=zhang.pk),
        status="frozen",
        source="admin",
        actor=head_office,
        reason="疑似盗刷",
    )
    frozen = _last(zhang)
    tag_members(members=Member.objects.all(), tag="VIP", source="task", actor=head_office)
    tagged = _last(zhang)

    assert (frozen.status, frozen.history_user, frozen.history_change_reason) == (
        "frozen",
        head_office,
        "疑似盗刷",
    )
    assert tagged.history_source == "task" and "VIP" in tagged.history_change_reason
    assert Tag.objects.get(name="VIP").member_set.count() == 1


def test_the_history_of_a_rule_and_of_a_member_shows_in_the_admin(
    client, zhang, head_office, sh001_manager, bj001_manager
):
    rule = EarningRule.objects.create(
        name="每元1分", kind="per_amount", points=1, per_amount=Decimal("1")
    )
    client.force_login(head_office)
    client.post(
        reverse("admin:loyalty_earningrule_change", args=[rule.pk]),
        {
            "name": "每元2分",
            "kind": "per_amount",
            "points": 2,
            "per_amount": "1",
            "multiplier": "1",
            "priority": 0,
            "is_active": "on",
            "min_order_amount": "0",
        },
    )
    rule_history = client.get(reverse("admin:loyalty_earningrule_history", args=[rule.pk]))

    assert rule_history.status_code == 200
    latest = rule.history.order_by("-history_id").first()
    assert (rule.history.count(), latest.name, latest.history_user) == (2, "每元2分", head_office)
    assert "每元2分" in rule_history.content.decode()
    client.force_login(sh001_manager)
    assert client.get(reverse("admin:members_member_history", args=[zhang.pk])).status_code == 200
    client.force_login(bj001_manager)  # another store's member: no history either
    assert client.get(reverse("admin:members_member_history", args=[zhang.pk])).status_code == 404
