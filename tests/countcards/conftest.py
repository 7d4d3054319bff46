"""Count cards are paid from stored value: the wallet tests' members, plans and packages."""

from tests.wallet.conftest import member, member_factory, money, package_10, plan_500  # noqa: F401
