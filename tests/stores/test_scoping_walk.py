"""A store manager sees only their stores, on every admin page there is.

The pages are generated from the admin site (every registered ModelAdmin's list, each
object's change, history and delete pages, autocomplete answers, the exports, every admin URL
without parameters: reports, templates), so a page added later is walked too. The SH001
manager must find no BJ001 marker on any of them.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from core.admin import ReadOnlyAdmin
from loyalty.models import PointsLot
from tests.admin_walk import build_world, response_text, shown, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(chain, head_office, bj001_manager):
    return build_world(chain, head_office=head_office, bj001_manager=bj001_manager)


def test_the_sh001_manager_finds_no_bj001_row_on_any_admin_page(client, world, sh001_manager):
    client.force_login(sh001_manager)

    pages = walk(client)

    assert shown(pages, world["BJ001"]) == []
    # Not vacuous: the same pages show SH001's own rows, every one of them somewhere.
    assert {marker for _url, marker in shown(pages, world["SH001"])} == set(world["SH001"])
    assert len(pages) > 150


def test_the_walk_catches_an_admin_page_that_forgets_the_store(
    client, world, sh001_manager, monkeypatch
):
    # Points lots as they were listed before issue 12: every lot of the chain.
    lots_admin = type(admin.site._registry[PointsLot])
    monkeypatch.setattr(lots_admin, "get_queryset", ReadOnlyAdmin.get_queryset)
    monkeypatch.setattr(lots_admin, "get_list_filter", ReadOnlyAdmin.get_list_filter)
    client.force_login(sh001_manager)

    found = shown(walk(client, models={PointsLot}), world["BJ001"])

    assert any("pointslot" in url for url, _marker in found)


def test_head_office_sees_both_stores(client, world, head_office):
    client.force_login(head_office)

    response = client.get(reverse("admin:members_member_changelist"))

    text = response_text(response)
    assert world["SH001"][0] in text and world["BJ001"][0] in text
