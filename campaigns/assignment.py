"""Deterministic assignment: a member's bucket (0–9999) in a campaign is a hash of the campaign's
salt and the member id, so the same member always lands in the same arm of the same campaign
(a rerun, a daily cycle, a rebuilt audience), and two campaigns with different salts split the
members independently of each other. The bucket is computed in SQL for set-based launches and
in Python for checks; both give the same number (tests/campaigns/test_assignment.py)."""

import hashlib

BUCKETS = 10_000


def bucket(salt, member_id):
    """The first 32 bits of md5("<salt>:<member id>"), modulo 10,000."""
    digest = hashlib.md5(f"{salt}:{member_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def bucket_sql(salt_param="%s", id_sql="m.id"):
    """The same bucket as an SQL expression over the member id column `id_sql` (the salt is a
    parameter): md5's first 8 hex digits read as an unsigned 32-bit number."""
    # mod(), not the % operator: the expression goes into parameterized queries.
    return (
        f"mod(('x' || substr(md5({salt_param} || ':' || ({id_sql})::text), 1, 8))::bit(32)"
        f"::bigint, {BUCKETS})"
    )
