"""Assignment to treatment or control: deterministic (a hash of the campaign's salt and the member
id, the same in SQL and in Python, stored per member), balanced within a few per mille on 100k
members, and independent between campaigns."""

import math

import pytest
from django.db import connection

from campaigns.assignment import bucket, bucket_sql
from campaigns.models import CampaignMember
from campaigns.services import launch_campaign
from core.models import Source
from tests.campaigns.conftest import NOW, make_campaign

N = 100_000


def sql_buckets(salt, n=N):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i, {bucket_sql('%s', 'i')} FROM generate_series(1, %s) i ORDER BY i",
            [salt, n],
        )
        return [b for _i, b in cursor.fetchall()]


def independence_p(a, b):
    """Chi-square test of independence of two boolean lists (1 degree of freedom)."""
    n = len(a)
    table = [[0, 0], [0, 0]]
    for x, y in zip(a, b, strict=True):
        table[x][y] += 1
    rows = [sum(r) for r in table]
    cols = [table[0][j] + table[1][j] for j in range(2)]
    chi2 = sum(
        (table[i][j] - rows[i] * cols[j] / n) ** 2 / (rows[i] * cols[j] / n)
        for i in range(2)
        for j in range(2)
    )
    return math.erfc(math.sqrt(chi2 / 2))


def test_sql_and_python_give_the_same_bucket_every_time(db):
    first = sql_buckets("a1b2c3d4e5f60718", 5000)
    again = sql_buckets("a1b2c3d4e5f60718", 5000)
    python = [bucket("a1b2c3d4e5f60718", i) for i in range(1, 5001)]
    assert first == again == python
    assert all(0 <= b < 10_000 for b in first)
    assert len(set(first)) > 3000  # spread over the buckets, not a constant


@pytest.mark.parametrize("percent", [10, 50])
def test_the_split_is_balanced_within_a_few_per_mille_on_100k_members(db, percent):
    for salt in ("0123456789abcdef", "fedcba9876543210"):
        share = sum(b < percent * 100 for b in sql_buckets(salt)) / N
        assert abs(share - percent / 100) < 0.003, (salt, share)


def test_two_campaigns_split_members_independently(db):
    one = [b < 1000 for b in sql_buckets("1111111111111111")]
    two = [b < 1000 for b in sql_buckets("2222222222222222")]
    both = sum(x and y for x, y in zip(one, two, strict=True)) / N
    assert abs(both - 0.01) < 0.002  # 10% x 10%
    assert independence_p(one, two) > 0.001


def test_the_independence_check_catches_a_shared_split(db):
    # The guard above fails when two campaigns reuse one split (the same salt) or one is a
    # shift of the other: what it is there to catch.
    one = [b < 1000 for b in sql_buckets("1111111111111111")]
    shifted = [b < 2000 for b in sql_buckets("1111111111111111")]
    assert independence_p(one, one) < 1e-9
    assert independence_p(one, shifted) < 1e-9


def test_each_member_keeps_the_arm_of_their_bucket(make_member, everyone, cash10):
    members = [make_member() for _ in range(60)]
    campaign = make_campaign(everyone, coupon_template=cash10, control_percent=30)

    launch_campaign(campaign=campaign, source=Source.ADMIN, at=NOW)

    entries = {e.member_id: e for e in CampaignMember.objects.filter(campaign=campaign)}
    assert set(entries) == {m.pk for m in members}
    for member in members:
        entry = entries[member.pk]
        assert entry.bucket == bucket(campaign.salt, member.pk)
        expected = "control" if entry.bucket < 3000 else "treatment"
        assert entry.arm == expected
    assert campaign.control == sum(e.arm == "control" for e in entries.values())
    assert campaign.treatment + campaign.control == 60
