"""A store manager sees, opens, changes, deletes and exports only their own store's rows."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from stores.models import Staff
from tests.factories import StaffFactory


@pytest.fixture
def staff_rows(chain):
    return {
        "SH001": StaffFactory(store=chain["SH001"], employee_no="SH-7", name="张三"),
        "BJ001": StaffFactory(store=chain["BJ001"], employee_no="BJ-7", name="李四"),
    }


def _grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    # Permission caches live on the user object; a fresh one sees the new grants.
    return type(user).objects.get(pk=user.pk)


def test_it_lists_only_the_managers_own_store(client, sh001_manager, staff_rows):
    client.force_login(sh001_manager)

    response = client.get(reverse("admin:stores_staff_changelist"))

    assert response.status_code == 200
    listed = {obj.employee_no for obj in response.context["cl"].result_list}
    assert "SH-7" in listed and "BJ-7" not in listed


def test_it_lists_every_store_for_head_office(client, head_office, staff_rows):
    client.force_login(head_office)

    response = client.get(reverse("admin:stores_staff_changelist"))

    listed = {obj.employee_no for obj in response.context["cl"].result_list}
    assert {"SH-7", "BJ-7"} <= listed


@pytest.mark.parametrize("view", ["change", "delete"])
def test_it_will_not_open_another_stores_row(client, sh001_manager, staff_rows, view):
    user = _grant(sh001_manager, "change_staff", "delete_staff")
    client.force_login(user)
    other = staff_rows["BJ001"]

    response = client.get(reverse(f"admin:stores_staff_{view}", args=[other.pk]))

    # Django answers a row outside the queryset as "does not exist": back to the admin index.
    assert response.status_code == 302
    assert Staff.objects.filter(pk=other.pk).exists()


def test_it_will_not_delete_another_stores_row_by_post(client, sh001_manager, staff_rows):
    user = _grant(sh001_manager, "change_staff", "delete_staff")
    client.force_login(user)
    other = staff_rows["BJ001"]

    client.post(reverse("admin:stores_staff_delete", args=[other.pk]), {"post": "yes"})
    client.post(
        reverse("admin:stores_staff_changelist"),
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )

    assert Staff.objects.filter(pk=other.pk).exists()


def test_it_will_not_move_a_row_to_another_store(client, sh001_manager, staff_rows, chain):
    user = _grant(sh001_manager, "change_staff")
    client.force_login(user)
    own = staff_rows["SH001"]

    response = client.post(
        reverse("admin:stores_staff_change", args=[own.pk]),
        {"store": chain["BJ001"].pk, "employee_no": own.employee_no, "name": own.name,
         "role": own.role, "is_active": "on"},
    )

    assert response.status_code == 200  # the form comes back with an error
    own.refresh_from_db()
    assert own.store == chain["SH001"]


def _export(client):
    response = client.post(
        reverse("admin:stores_staff_export"),
        {"format": "0", "staffresource_employee_no": "on", "staffresource_name": "on",
         "staffresource_store": "on", "staffresource_role": "on",
         "staffresource_is_active": "on"},
    )
    assert response.status_code == 200, response.content[:500]
    sheet = load_workbook(io.BytesIO(response.content)).active
    return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_it_exports_only_the_managers_own_store(client, sh001_manager, staff_rows):
    client.force_login(sh001_manager)

    exported = _export(client)

    assert "SH-7" in exported and "BJ-7" not in exported


def test_it_exports_every_store_for_head_office(client, head_office, staff_rows):
    client.force_login(head_office)

    assert {"SH-7", "BJ-7"} <= _export(client)


def test_it_shows_bj001_manager_nothing_of_sh001(client, bj001_manager, staff_rows):
    client.force_login(bj001_manager)

    response = client.get(reverse("admin:stores_staff_changelist"))

    listed = {obj.employee_no for obj in response.context["cl"].result_list}
    assert "SH-7" not in listed and "BJ-7" in listed


def test_it_refuses_another_stores_row_picked_for_export(client, sh001_manager, staff_rows):
    client.force_login(sh001_manager)
    fields = {"format": "0", "staffresource_employee_no": "on", "staffresource_name": "on"}
    own, other = staff_rows["SH001"], staff_rows["BJ001"]

    refused = client.post(
        reverse("admin:stores_staff_export"), {**fields, "export_items": [own.pk, other.pk]}
    )
    picked = client.post(reverse("admin:stores_staff_export"), {**fields, "export_items": [own.pk]})

    # A typed-in id of another store is not a row this manager may pick: the form comes back.
    assert refused.status_code == 200
    assert refused["Content-Type"].startswith("text/html")
    assert "BJ-7" not in refused.content.decode()
    sheet = load_workbook(io.BytesIO(picked.content)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["SH-7"]


def test_groups_of_stores_are_those_of_managers_not_head_office(chain, head_office, sh001_manager):
    from stores.access import store_groups_of_users

    # Head office with Staff rows in two stores still sees the chain: no group of its own.
    StaffFactory(store=chain["SH001"], user=head_office, employee_no="HQ-1")
    StaffFactory(store=chain["BJ001"], user=head_office, employee_no="HQ-2")
    assert store_groups_of_users() == set()

    StaffFactory(store=chain["SH002"], user=sh001_manager, employee_no="SH-2")
    StaffFactory(store=chain["BJ001"], user=sh001_manager, employee_no="BJ-9", is_active=False)

    assert store_groups_of_users() == {frozenset({chain["SH001"].pk, chain["SH002"].pk})}
