import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from core.models import Source
from members.models import ImportJob, Member, Tier
from members.services import generate_card_batch, open_member
from tests.members.xlsx import member_row, write_workbook

pytestmark = pytest.mark.django_db

LIST = reverse("admin:members_member_changelist")
ADD = reverse("admin:members_member_add")


@pytest.fixture
def members(chain):
    tier = Tier.objects.create(code="normal", name="普通会员", rank=1, is_default=True)
    sh = open_member(
        phone="13800000001",
        home_store=chain["SH001"],
        source=Source.ADMIN,
        name="张三",
        initial_points=100,
        initial_stored_value=Decimal("20.00"),
    )
    bj = open_member(
        phone="13900005678", home_store=chain["BJ001"], source=Source.ADMIN, name="李四"
    )
    return {"SH001": sh, "BJ001": bj, "tier": tier}


def change_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def export(client, members, url=LIST):
    response = client.post(
        url,
        {"action": "export_selected", "_selected_action": [m.pk for m in members], "index": 0},
    )
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)][1:]


def test_it_shows_head_office_every_store_and_a_manager_only_theirs(
    client, members, head_office, sh001_manager
):
    client.force_login(head_office)
    body = client.get(LIST).content.decode()
    assert members["SH001"].member_no in body and members["BJ001"].member_no in body

    client.force_login(sh001_manager)
    body = client.get(LIST).content.decode()
    assert members["SH001"].member_no in body and members["BJ001"].member_no not in body


def test_the_sh001_manager_cannot_open_change_delete_or_export_bj001_members(
    client, members, chain, sh001_manager, bj001_manager
):
    bj = members["BJ001"]
    client.force_login(sh001_manager)
    # view / change: the member does not exist for them
    response = client.get(change_url(bj))
    assert response.status_code == 302
    response = client.post(change_url(bj), {"name": "改名"})
    bj.refresh_from_db()
    assert bj.name == "李四"
    # delete: nobody deletes members in the admin
    delete = reverse("admin:members_member_delete", args=[bj.pk])
    assert client.post(delete, {"post": "yes"}).status_code in (302, 403)
    assert Member.objects.filter(pk=bj.pk).exists()
    # export: the other store's member is not in the file
    rows = export(client, [members["SH001"], bj])
    assert [row[9] for row in rows] == ["SH001"]
    # open a card in another store: not a choice
    response = client.post(
        ADD,
        {"phone": "13700000000", "home_store": chain["BJ001"].pk, "gender": "U",
         "initial_points": 0, "initial_stored_value": "0"},
    )  # fmt: skip
    assert response.status_code == 200
    assert not Member.objects.filter(phone="13700000000").exists()
    # and the BJ001 manager can open their own member
    client.force_login(bj001_manager)
    assert client.get(change_url(bj)).status_code == 200


def test_it_opens_a_card_from_the_admin_form(client, members, chain, head_office, check_ledgers):
    client.force_login(head_office)
    assert client.get(ADD).status_code == 200
    response = client.post(
        ADD,
        {
            "phone": "137 0000 0000",
            "name": "王五",
            "gender": "M",
            "home_store": chain["SH002"].pk,
            "tier": members["tier"].pk,
            "initial_points": 500,
            "initial_stored_value": "100.00",
            "referrer_phone": "13800000001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    member = Member.objects.get(phone="13700000000")
    assert member.referrer == members["SH001"] and member.opened_by == head_office
    assert member.points_account.balance == 500 and member.wallet.balance == Decimal("100.00")
    # the service's refusal shows on the form
    response = client.post(
        ADD,
        {"phone": "13700000000", "gender": "U", "home_store": chain["SH002"].pk,
         "initial_points": 0, "initial_stored_value": "0"},
    )  # fmt: skip
    assert response.status_code == 200 and Member.objects.filter(phone="13700000000").count() == 1
    check_ledgers()


def test_it_masks_phones_for_staff_without_the_permission(client, members, sh001_cashier):
    client.force_login(sh001_cashier)
    body = client.get(LIST).content.decode()
    assert "138****0001" in body and "13800000001" not in body
    body = client.get(change_url(members["SH001"])).content.decode()
    assert "138****0001" in body and "13800000001" not in body
    rows = export(client, [members["SH001"]])
    assert rows[0][0] == "138****0001"


def test_head_office_sees_and_exports_full_phones(client, members, head_office):
    client.force_login(head_office)
    assert "13800000001" in client.get(LIST).content.decode()
    rows = export(client, [members["SH001"]])
    assert rows[0][:2] == ["13800000001", "张三"]
    assert rows[0][7:10] == [100, 20, "SH001"]


def test_the_member_list_does_not_query_per_row(
    client, chain, head_office, django_assert_max_num_queries
):
    for i in range(40):
        open_member(phone=f"1380000{i:04d}", home_store=chain["SH001"], source=Source.ADMIN)
    client.force_login(head_office)
    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count("/change/") >= 40


@pytest.mark.parametrize(
    "term, found",
    [("5678", "BJ001"), ("13800000001", "SH001"), ("zs", "SH001"), ("李", "BJ001")],
)
def test_it_searches_by_phone_last_4_full_phone_initials_and_name(
    client, members, head_office, term, found
):
    client.force_login(head_office)
    body = client.get(LIST, {"q": term}).content.decode()
    other = "BJ001" if found == "SH001" else "SH001"
    assert members[found].member_no in body and members[other].member_no not in body


def test_it_searches_by_card_no_and_member_no(client, chain, members, head_office):
    batch = generate_card_batch(prefix="55", count=1, source=Source.ADMIN)
    card = batch.cards.get()
    member = open_member(
        phone="13600000000", home_store=chain["SH001"], source=Source.ADMIN, card_no=card.card_no
    )
    client.force_login(head_office)
    body = client.get(LIST, {"q": card.card_no}).content.decode()
    assert member.member_no in body and members["SH001"].member_no not in body
    body = client.get(LIST, {"q": members["BJ001"].member_no}).content.decode()
    assert members["BJ001"].member_no in body and member.member_no not in body


def test_actions_freeze_change_tier_and_tag_through_intermediate_forms(
    client, members, head_office
):
    gold = Tier.objects.create(code="gold", name="金卡", rank=5)
    sh = members["SH001"]
    client.force_login(head_office)
    client.post(LIST, {"action": "freeze", "_selected_action": [sh.pk], "index": 0})
    sh.refresh_from_db()
    assert sh.status == Member.Status.FROZEN

    form = client.post(LIST, {"action": "change_tier", "_selected_action": [sh.pk], "index": 0})
    assert form.status_code == 200 and "apply" in form.content.decode()
    client.post(
        LIST,
        {"action": "change_tier", "_selected_action": [sh.pk], "index": 0, "apply": "1",
         "tier": gold.pk},
    )  # fmt: skip
    sh.refresh_from_db()
    assert sh.tier == gold

    client.post(
        LIST,
        {"action": "add_tag", "_selected_action": [sh.pk], "index": 0, "apply": "1", "tag": "VIP"},
    )
    assert list(sh.tags.values_list("name", flat=True)) == ["VIP"]
    body = client.get(LIST, {"tags__id__exact": sh.tags.get().pk}).content.decode()
    assert sh.member_no in body and members["BJ001"].member_no not in body


def test_it_filters_by_birthday_month(client, chain, head_office):
    import datetime as dt

    may = open_member(
        phone="13800000011", home_store=chain["SH001"], source=Source.ADMIN,
        birthday=dt.date(1990, 5, 3),
    )  # fmt: skip
    june = open_member(
        phone="13800000012", home_store=chain["SH001"], source=Source.ADMIN,
        birthday=dt.date(1990, 6, 3),
    )  # fmt: skip
    client.force_login(head_office)
    body = client.get(LIST, {"birthday_month": "5"}).content.decode()
    assert may.member_no in body and june.member_no not in body


def test_it_imports_from_the_admin_with_a_preview_then_a_confirm(
    client, tmp_path, chain, head_office, check_ledgers
):
    path = write_workbook(
        tmp_path / "m.xlsx",
        [member_row("13800000001", 开卡门店="SH001", 积分=10), member_row("bad", 开卡门店="SH001")],
    )
    client.force_login(head_office)
    add = reverse("admin:members_importjob_add")
    with open(path, "rb") as upload:
        response = client.post(add, {"file": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert "bad" in body and ">3<" in body  # the rejected row, by its Excel row number
    assert not Member.objects.exists()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PREVIEWED and job.report

    response = client.post(reverse("admin:members_importjob_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.imported, job.rejected) == (ImportJob.Status.DONE, 1, 1)
    assert Member.objects.get().points_account.balance == 10
    check_ledgers()


def test_a_large_admin_import_runs_as_a_background_job(
    client, tmp_path, chain, head_office, settings, django_capture_on_commit_callbacks
):
    settings.MEMBER_IMPORT_BACKGROUND_BYTES = 10  # every file is "large"
    path = write_workbook(
        tmp_path / "m.xlsx", [member_row(f"1380000{i:04d}", 开卡门店="SH001") for i in range(20)]
    )
    client.force_login(head_office)
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as upload:
        client.post(reverse("admin:members_importjob_add"), {"file": upload})
    job = ImportJob.objects.get()
    assert (job.status, job.rows_read, job.progress) == (ImportJob.Status.PREVIEWED, 20, 100)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:members_importjob_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.imported) == (ImportJob.Status.DONE, 20)
    assert client.get(reverse("admin:members_importjob_changelist")).status_code == 200
    assert client.get(reverse("admin:members_importjob_template")).status_code == 200


def test_it_edits_the_profile_through_the_service_and_never_the_balances(
    client, members, head_office, check_ledgers
):
    sh = members["SH001"]
    client.force_login(head_office)
    response = client.post(
        change_url(sh),
        {"name": "张三丰", "gender": "M", "birthday": "", "email": "", "address": "新地址",
         "notes": "", "tier": "", "home_store": sh.home_store_id, "commission_staff": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    sh.refresh_from_db()
    assert (sh.name, sh.name_initials, sh.address, sh.tier) == ("张三丰", "zsf", "新地址", None)
    assert sh.points_account.balance == 100 and sh.wallet.balance == Decimal("20.00")
    check_ledgers()


def test_it_generates_a_card_batch_exports_it_and_replaces_a_lost_card(
    client, chain, head_office, check_ledgers
):
    from members.models import Card, CardBatch

    client.force_login(head_office)
    response = client.post(
        reverse("admin:members_cardbatch_add"),
        {"prefix": "8801", "count": 50, "initial_points": 0, "initial_stored_value": "0"},
    )
    assert response.status_code == 302
    batch = CardBatch.objects.get()
    assert batch.cards.count() == 50 and batch.created_by == head_office
    response = client.post(
        reverse("admin:members_cardbatch_changelist"),
        {"action": "export_cards", "_selected_action": [batch.pk], "index": 0},
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    numbers = [row[0] for row in sheet.iter_rows(values_only=True)][1:]
    assert len(numbers) == 50 and numbers[0].startswith("8801")

    old, new = numbers[0], numbers[1]
    member = open_member(
        phone="13500000000", home_store=chain["SH001"], source=Source.ADMIN, card_no=old,
        initial_points=30,
    )  # fmt: skip
    card = Card.objects.get(card_no=old)
    client.post(
        reverse("admin:members_card_changelist"),
        {"action": "report_lost", "_selected_action": [card.pk], "index": 0, "apply": "1",
         "new_card_no": new},
    )  # fmt: skip
    card.refresh_from_db()
    assert card.status == Card.Status.LOST
    assert Card.objects.get(card_no=new).member == member
    member.refresh_from_db()
    assert member.points_account.balance == 30
    check_ledgers()
