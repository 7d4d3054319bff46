"""Money reads as money: two decimals and thousands separators in pages, formatted numbers in
Excel; durations for people (issue 12)."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.admin import money_column
from core.formatting import format_duration, format_money
from core.models import Source
from members.models import ImportJob
from members.services import open_member
from wallet.services import recharge_wallet

OUR_APPS = {
    "core", "stores", "members", "loyalty", "wallet", "countcards", "coupons", "sales", "campaigns",
    "reports",
}  # fmt: skip


@pytest.mark.parametrize(
    "value, shown",
    [
        (Decimal("14154.2400000000"), "14,154.24"),
        (Decimal("0"), "0.00"),
        (Decimal("-1234567.5"), "-1,234,567.50"),
        (Decimal("0.005"), "0.01"),
        (None, ""),
    ],
)
def test_money_has_two_decimals_and_thousands_separators(value, shown):
    assert format_money(value) == shown


def test_yuan_goes_before_the_sign():
    assert format_money(Decimal("-5"), currency=True) == "-¥5.00"


@pytest.mark.parametrize(
    "seconds, shown",
    [(0.3062361529998725, "不到 1 秒"), (5.4, "5 秒"), (65, "1 分 5 秒"), (3725, "1 小时 2 分")],
)
def test_durations_read_like_a_person_would_say_them(seconds, shown):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert format_duration(seconds) == shown


def test_every_money_column_in_a_list_is_formatted():
    """Generated from the admin registry: a list column that is a two-decimal money field
    must go through core.admin.money_column (percentages and multipliers are not money)."""
    raw = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        for column in model_admin.list_display:
            if not isinstance(column, str):
                continue
            try:
                field = model._meta.get_field(column)
            except Exception:
                continue
            if (
                isinstance(field, models.DecimalField)
                and field.decimal_places == 2
                and not any(word in column for word in ("percent", "multiplier"))
            ):
                raw.append(f"{model._meta.label}.{column}")
    assert raw == []


def test_a_money_column_sorts_by_its_field():
    from wallet.models import Wallet

    column = money_column("principal", model=Wallet)

    assert column.admin_order_field == "principal"
    assert str(column.short_description) == str(Wallet._meta.get_field("principal").verbose_name)


@pytest.mark.django_db
def test_report_pages_show_money_with_separators(client, head_office, chain):
    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN)
    recharge_wallet(member=member, amount=Decimal("14154.24"), store=chain["SH001"],
                    source=Source.ADMIN)
    client.force_login(head_office)

    liability = client.get(reverse("admin:wallet_liability")).content.decode()
    flows = client.get(reverse("admin:wallet_flows")).content.decode()

    assert "14,154.24" in liability and "14154.24" not in liability
    assert "14,154.24" in flows


@pytest.mark.django_db
def test_report_workbooks_hold_numbers_with_a_money_format(client, head_office, chain):
    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN)
    recharge_wallet(member=member, amount=Decimal("14154.24"), store=chain["SH001"],
                    source=Source.ADMIN)
    client.force_login(head_office)

    for url in (reverse("admin:wallet_liability"), reverse("admin:wallet_flows")):
        book = load_workbook(io.BytesIO(client.get(url + "?format=xlsx").content))
        sheet = book.active
        money = [c for row in sheet.iter_rows(min_row=2) for c in row
                 if isinstance(c.value, int | float) and c.value == 14154.24]
        assert money, url
        assert all(c.number_format == "#,##0.00" for c in money)


@pytest.mark.django_db
def test_an_import_job_shows_how_long_it_took_in_words(client, head_office):
    from django.core.files.base import ContentFile

    job = ImportJob.objects.create(
        file=ContentFile(b"x", name="m.csv"), original_name="m.csv", status="done",
        seconds=0.3062361529998725, finished_at=timezone.now() + timedelta(seconds=1),
        created_by=head_office,
    )
    client.force_login(head_office)

    page = client.get(reverse("admin:members_importjob_change", args=[job.pk])).content.decode()

    assert "不到 1 秒" in page and "0.3062361529998725" not in page


@pytest.mark.django_db
def test_the_member_export_holds_stored_value_as_a_formatted_number(client, head_office, chain):
    open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN,
                initial_stored_value=Decimal("1350.50"))
    client.force_login(head_office)

    response = client.get(reverse("admin:members_member_export"))

    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=2, column=9)
    assert cell.value == 1350.5 and cell.number_format == "#,##0.00"
