"""Sales use the points engine's members, tiers and rules (tests/loyalty/conftest.py)."""

from tests.loyalty.conftest import line, make_member, member, rules, tiers  # noqa: F401
