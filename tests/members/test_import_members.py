import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from core.models import Source
from loyalty.models import PointsEntry, PointsLot
from members.importing.members import import_members, write_error_report
from members.models import Card, Member, Tier
from members.services import generate_card_batch, open_member
from tests.members.xlsx import member_row, read_rows, write_workbook
from wallet.models import WalletEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers(db):
    return {
        "normal": Tier.objects.create(code="normal", name="普通会员", rank=1, is_default=True),
        "gold": Tier.objects.create(code="gold", name="金卡会员", rank=3),
    }


def run(tmp_path, rows, **kwargs):
    path = write_workbook(tmp_path / "members.xlsx", rows)
    return import_members(path, **kwargs)


def store(**values):
    return {"开卡门店": "SH001", **values}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13812345678", "13812345678"),
        (13812345678, "13812345678"),  # numeric cell
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
    ],
)
def test_it_accepts_each_phone_form(tmp_path, chain, raw, expected):
    result = run(tmp_path, [member_row(raw, **store())])
    assert result.imported == 1, result.problems
    assert Member.objects.get().phone == expected


@pytest.mark.parametrize(
    "raw",
    [dt.datetime(1990, 1, 2), "1990-01-02", "1990/1/2", "1990年1月2日", "19900102", 19900102],
)
def test_it_accepts_each_birthday_form(tmp_path, chain, raw):
    result = run(tmp_path, [member_row("13812345678", **store(生日=raw))])
    assert result.imported == 1, result.problems
    assert Member.objects.get().birthday == dt.date(1990, 1, 2)


@pytest.mark.parametrize(
    "raw, expected",
    [("男", "M"), ("女", "F"), ("M", "M"), ("F", "F"), ("male", "M"), ("Female", "F"),
     ("未知", "U"), ("", "U")],
)  # fmt: skip
def test_it_accepts_each_gender_form(tmp_path, chain, raw, expected):
    result = run(tmp_path, [member_row("13812345678", **store(性别=raw))])
    assert result.imported == 1, result.problems
    assert Member.objects.get().gender == expected


@pytest.mark.parametrize(
    "points, money, expected_points, expected_money",
    [
        (1200, 88.5, 1200, Decimal("88.50")),
        ("1,200", "¥1,234.50", 1200, Decimal("1234.50")),
        ("１，２００", "￥12", 1200, Decimal("12.00")),
        ("", "", 0, Decimal("0.00")),
    ],
)
def test_it_accepts_points_and_money_with_separators_and_yuan_signs(
    tmp_path, chain, check_ledgers, points, money, expected_points, expected_money
):
    result = run(tmp_path, [member_row("13812345678", **store(积分=points, 储值余额=money))])
    assert result.imported == 1, result.problems
    member = Member.objects.get()
    assert member.points_account.balance == expected_points
    assert member.wallet.balance == expected_money
    assert member.wallet.principal == expected_money
    check_ledgers()


def test_it_maps_tier_by_name_and_store_by_code(tmp_path, chain, tiers):
    result = run(
        tmp_path,
        [
            member_row("13812345678", 会员等级="金卡会员", 开卡门店="bj001"),
            member_row("13812345679", 开卡门店="GZ001"),
        ],
    )
    assert result.imported == 2, result.problems
    first, second = Member.objects.order_by("phone")
    assert (first.tier, first.home_store) == (tiers["gold"], chain["BJ001"])
    assert (second.tier, second.home_store) == (tiers["normal"], chain["GZ001"])
    assert first.source == Member.Source.IMPORT


@pytest.mark.parametrize(
    "values, reason_part",
    [
        ({"手机号": "1381234567"}, "1381234567"),
        ({"手机号": "23812345678"}, "23812345678"),
        ({"生日": "1990-02-30"}, "1990-02-30"),
        ({"生日": "2990-01-01"}, "2990-01-01"),
        ({"积分": -5}, "-5"),
        ({"积分": "abc"}, "abc"),
        ({"积分": "1.5"}, "1.5"),
        ({"储值余额": "-5"}, "-5"),
        ({"储值余额": "五十"}, "五十"),
        ({"开卡门店": "XX999"}, "XX999"),
        ({"开卡门店": ""}, "开卡门店"),
        ({"会员等级": "钻石"}, "钻石"),
        ({"性别": "2"}, "2"),
        ({"邮箱": "not-an-email"}, "not-an-email"),
        ({"推荐人手机号": "13700000000"}, "13700000000"),
        ({"会员卡号": "8800000000000001"}, "8800000000000001"),
    ],
)
def test_it_rejects_a_row_with_an_invalid_value_whole(tmp_path, chain, tiers, values, reason_part):
    row = member_row("13812345678", **store())
    from members.importing.members import TEMPLATE_HEADERS

    for header, value in values.items():
        row[TEMPLATE_HEADERS.index(header)] = value
    result = run(tmp_path, [row, member_row("13900000000", **store())])
    assert (result.imported, result.rejected) == (1, 1)
    assert Member.objects.get().phone == "13900000000"
    problem = result.problems[0]
    assert problem.row_no == 2
    assert reason_part in problem.reason


def test_it_skips_blank_rows_and_reports_excel_row_numbers(tmp_path, chain):
    rows = [
        member_row("13800000001", **store()),
        [None] * 13,  # row 3: blank, skipped silently
        member_row("not a phone", **store(姓名="王五")),  # row 4
        member_row("13800000001", **store(姓名="重复")),  # row 5: duplicate of row 2
        member_row("13800000002", **store()),
    ]
    result = run(tmp_path, rows)
    assert (result.rows_read, result.imported, result.rejected, result.duplicates) == (4, 2, 1, 1)
    report = tmp_path / "errors.xlsx"
    write_error_report(result, report)
    lines = read_rows(report)
    assert lines[0][2] == "手机号"  # then the file's own headers
    assert [line[0] for line in lines[1:]] == [4, 5]
    assert lines[1][2:4] == ["not a phone", "王五"]
    assert "2" in lines[2][1]  # names the row that won
    # the first row of a duplicated phone wins
    assert Member.objects.get(phone="13800000001").name == ""


def test_it_reports_phones_already_members_and_never_overwrites_them(
    tmp_path, chain, check_ledgers
):
    member = open_member(
        phone="13800000001",
        home_store=chain["SH001"],
        source=Source.ADMIN,
        name="老会员",
        initial_points=10,
    )
    result = run(tmp_path, [member_row("13800000001", **store(姓名="新名字", 积分=999))])
    assert (result.imported, result.duplicates) == (0, 1)
    member.refresh_from_db()
    assert member.name == "老会员" and member.points_account.balance == 10

    result = run(
        tmp_path,
        [member_row("13800000001", **store(姓名="新名字", 积分=999, 储值余额=5))],
        update_existing=True,
    )
    assert (result.imported, result.updated) == (0, 1)
    member.refresh_from_db()
    assert member.name == "新名字" and member.name_initials == "xmz"
    assert member.points_account.balance == 10  # balances are never updated by an import
    assert member.wallet.balance == 0
    check_ledgers()


def test_a_profile_an_import_changes_is_in_the_members_history(tmp_path, chain, head_office):
    member = open_member(phone="13800000001", home_store=chain["SH001"], source=Source.ADMIN)
    rows = [member_row("13800000001", **store(姓名="新名字")), member_row("13800000002", **store())]
    before = member.history.count()

    first = run(tmp_path, rows, update_existing=True, actor=head_office)
    again = run(tmp_path, rows, update_existing=True, actor=head_office)

    assert (first.updated, again.updated) == (1, 0)
    # One record for the change, none for the run that changed nothing.
    assert member.history.count() == before + 1
    record = member.history.first()
    assert (record.history_type, record.name, record.history_user) == ("~", "新名字", head_office)
    assert record.history_source == Source.IMPORT
    assert record.history_change_reason == "导入更新"
    member.refresh_from_db()
    for field in ("member_no", "phone", "name", "home_store_id", "tier_id", "status", "opened_at"):
        assert getattr(record, field) == getattr(member, field), field


def test_it_imports_nothing_twice_when_the_same_file_runs_again(tmp_path, chain, check_ledgers):
    rows = [member_row(f"1380000{i:04d}", **store(积分=100, 储值余额="20.00")) for i in range(30)]
    path = write_workbook(tmp_path / "members.xlsx", rows)
    first = import_members(path)
    second = import_members(path)
    assert (first.imported, second.imported, second.duplicates) == (30, 0, 30)
    assert Member.objects.count() == 30
    assert PointsEntry.objects.count() == 30
    assert WalletEntry.objects.count() == 30
    check_ledgers()


def test_it_links_referrers_and_activates_cards(tmp_path, chain, check_ledgers):
    batch = generate_card_batch(prefix="99", count=2, source=Source.ADMIN)
    card = batch.cards.first()
    rows = [
        member_row("13800000002", **store(推荐人手机号="13800000001", 会员卡号=card.card_no)),
        member_row("13800000001", **store()),
    ]
    result = run(tmp_path, rows)
    assert result.imported == 2, result.problems
    referred = Member.objects.get(phone="13800000002")
    assert referred.referrer.phone == "13800000001"
    card.refresh_from_db()
    assert (card.status, card.member) == (Card.Status.ACTIVE, referred)
    check_ledgers()


def test_opening_points_keep_a_given_expiry_or_none_for_the_policy(tmp_path, chain):
    headers = ["手机号", "开卡门店", "积分", "积分有效期"]
    path = write_workbook(
        tmp_path / "m.xlsx",
        [["13800000001", "SH001", 100, "2027-06-30"], ["13800000002", "SH001", 50, ""]],
        headers=headers,
    )
    result = import_members(path)
    assert result.imported == 2, result.problems
    given = PointsLot.objects.get(account__member__phone="13800000001")
    assert given.expires_at.date() == dt.date(2027, 6, 30) or given.expires_at.day in (29, 30)
    assert PointsLot.objects.get(account__member__phone="13800000002").expires_at is None


def test_the_command_prints_the_summary_and_writes_the_report(tmp_path, chain, capsys):
    path = write_workbook(
        tmp_path / "m.xlsx",
        [member_row("13800000001", **store()), member_row("bad", **store())],
    )
    report = tmp_path / "errors.xlsx"
    with translation.override("en"):
        call_command("import_members", str(path), "--dry-run", "--report", str(report))
    out = capsys.readouterr().out
    assert "Rows read 2, imported 1, updated 0, rejected 1, duplicates 0" in out
    assert not Member.objects.exists()
    assert read_rows(report)[1][0] == 3

    call_command("import_members", str(path))
    assert Member.objects.count() == 1


def test_a_store_manager_cannot_import_members_of_another_store(tmp_path, chain):
    from stores.access import allowed_store_ids

    result = run(
        tmp_path,
        [member_row("13800000001", 开卡门店="BJ001"), member_row("13800000002", **store())],
        allowed_store_ids={chain["SH001"].pk},
    )
    assert (result.imported, result.rejected) == (1, 1)
    assert allowed_store_ids  # the admin passes allowed_store_ids(request.user)
