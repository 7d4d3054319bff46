import pytest
from django.contrib.auth.models import Group

from stores.roles import CASHIER, HEAD_OFFICE, STORE_MANAGER
from tests import factories

# The browser fixtures (Playwright and Debian's chromium) for any test that asks for them.
pytest_plugins = ["tests.browser_support"]


@pytest.fixture(autouse=True)
def _english_free_messages(settings):
    # Tests assert on behaviour, not wording; run in the product's default language anyway.
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def chain(db):
    """The demo chain's four stores: SH001, SH002, BJ001 and GZ001 (a franchise)."""
    return factories.make_chain()


def _staff_user(username, store, group_name):
    user = factories.UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    if store is not None:
        factories.StaffFactory(store=store, user=user, role="manager")
    return user


@pytest.fixture
def head_office(chain):
    return _staff_user("head_office", None, HEAD_OFFICE)


@pytest.fixture
def sh001_manager(chain):
    return _staff_user("sh001_manager", chain["SH001"], STORE_MANAGER)


@pytest.fixture
def bj001_manager(chain):
    return _staff_user("bj001_manager", chain["BJ001"], STORE_MANAGER)


@pytest.fixture
def sh001_cashier(chain):
    return _staff_user("sh001_cashier", chain["SH001"], CASHIER)


@pytest.fixture
def check_ledgers():
    """Call after a scenario: fails the test if any balance disagrees with its ledger."""
    from django.core.management import call_command

    def run():
        call_command("check_ledgers", verbosity=0)

    return run
