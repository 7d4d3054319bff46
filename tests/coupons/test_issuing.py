"""Issuing coupons: by hand and in bulk (set-based, once per occasion), within the template's
total, its per-member limit and its issuing window; automatically on registration, birthday and
first purchase; print runs; the issue_coupons command."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core.models import Source
from coupons import codes as coupon_codes
from coupons.exceptions import CouponNotAvailable
from coupons.models import Coupon, CouponEvent, CouponTemplateVersion
from coupons.services import (
    issue_automatic_coupons,
    issue_coupons,
    print_coupons,
    void_coupon,
)
from coupons.tasks import issue_automatic_coupons_task
from members.models import Member
from members.services import open_member
from tests.coupons.conftest import checkout, give, line, make_template, shanghai

Version = CouponTemplateVersion


def test_it_issues_to_many_members_once_per_occasion(make_member, cash10, check_ledgers):
    members = [make_member() for _ in range(7)]

    first = issue_coupons(
        template=cash10, members=Member.objects.all(), occasion="promo", source=Source.ADMIN,
        chunk_size=3, keep_codes=True,
    )  # fmt: skip
    again = issue_coupons(
        template=cash10, members=[m.pk for m in members], occasion="promo", source=Source.ADMIN
    )

    assert first.issued == 7 and again.issued == 0
    assert len(set(first.codes)) == 7 and all(coupon_codes.check_printed(c) for c in first.codes)
    assert Coupon.objects.filter(template=cash10).count() == 7
    assert CouponEvent.objects.filter(kind=CouponEvent.Kind.ISSUED).count() == 7
    cash10.refresh_from_db()
    assert cash10.issued == 7
    check_ledgers()


def test_it_reports_progress_after_each_chunk(make_member, cash10):
    for _ in range(5):
        make_member()
    seen = []

    issue_coupons(
        template=cash10, members=Member.objects.all(), occasion="p", source=Source.ADMIN,
        chunk_size=2, progress=seen.append,
    )  # fmt: skip

    assert seen == [2, 4, 5]


def test_a_relative_coupon_lasts_its_days_to_the_last_second_of_the_last_day(member):
    template = make_template("REL", face_value=Decimal("5"), valid_days=30)

    with time_machine.travel(shanghai(2026, 12, 1, 10, 0), tick=False):
        coupon = give(template, member)

    assert coupon.valid_from == shanghai(2026, 12, 1, 10, 0)
    assert coupon.valid_until == shanghai(2026, 12, 30, 23, 59, 59)


def test_a_coupon_starting_later_starts_at_midnight_of_its_first_day(member):
    template = make_template("LATER", face_value=Decimal("5"), starts_after_days=2, valid_days=7)

    with time_machine.travel(shanghai(2026, 12, 1, 22, 0), tick=False):
        coupon = give(template, member)

    assert coupon.valid_from == shanghai(2026, 12, 3, 0, 0)
    assert coupon.valid_until == shanghai(2026, 12, 9, 23, 59, 59)


def test_fixed_dates_and_the_hard_end_bound_the_validity(member):
    fixed = make_template(
        "FIX",
        face_value=Decimal("5"),
        validity=Version.Validity.FIXED,
        valid_from=date(2026, 12, 10),
        valid_until=date(2026, 12, 20),
    )
    capped = make_template(
        "CAP", face_value=Decimal("5"), valid_days=30, hard_end=date(2026, 12, 5)
    )

    with time_machine.travel(shanghai(2026, 12, 1, 9, 0), tick=False):
        a, b = give(fixed, member), give(capped, member)

    assert (a.valid_from, a.valid_until) == (
        shanghai(2026, 12, 10, 0, 0),
        shanghai(2026, 12, 20, 23, 59, 59),
    )
    assert b.valid_until == shanghai(2026, 12, 5, 23, 59, 59)
    with (
        time_machine.travel(shanghai(2026, 12, 6, 0, 0), tick=False),
        pytest.raises(CouponNotAvailable),
    ):
        give(capped, member)  # past its hard end: nothing left to issue


def test_the_issuing_window_and_the_active_flag_are_kept(member):
    window = make_template(
        "WIN",
        face_value=Decimal("5"),
        claim_from=shanghai(2026, 12, 1, 0, 0),
        claim_until=shanghai(2026, 12, 2, 0, 0),
    )
    for moment in (shanghai(2026, 11, 30, 23, 59, 59), shanghai(2026, 12, 2, 0, 0, 1)):
        with time_machine.travel(moment, tick=False), pytest.raises(CouponNotAvailable):
            give(window, member)
    with time_machine.travel(shanghai(2026, 12, 2, 0, 0), tick=False):
        assert give(window, member).pk
    window.is_active = False
    window.save()
    with (
        time_machine.travel(shanghai(2026, 12, 1, 12, 0), tick=False),
        pytest.raises(CouponNotAvailable),
    ):
        give(window, member)


def test_the_per_member_limit_counts_every_coupon_held_but_voided_ones(member, check_ledgers):
    once = make_template("ONCE", face_value=Decimal("5"), per_member_limit=1)
    first = give(once, member)

    with pytest.raises(CouponNotAvailable):
        give(once, member)
    void_coupon(coupon=first, reason="发错了", source=Source.ADMIN)
    again = give(once, member)

    assert again.pk != first.pk
    check_ledgers()


def test_the_total_is_never_exceeded_and_the_refusals_are_counted(make_member, check_ledgers):
    scarce = make_template("FEW", face_value=Decimal("5"), total_quantity=3)
    members = [make_member() for _ in range(5)]

    result = issue_coupons(template=scarce, members=members, occasion="x", source=Source.ADMIN)

    assert (result.issued, result.refused_total, result.refused_limit) == (3, 2, 0)
    scarce.refresh_from_db()
    assert scarce.issued == 3 and scarce.left == 0
    check_ledgers()


def test_a_new_member_gets_the_registration_coupons(chain):
    make_template("WELCOME", face_value=Decimal("5"), on_registration=True)
    make_template("GONE", face_value=Decimal("5"), on_registration=True, total_quantity=0)

    member = open_member(
        phone="13900000001", name="新会员", home_store=chain["SH001"], source=Source.TILL
    )

    assert list(Coupon.objects.filter(owner=member).values_list("template__code", flat=True)) == [
        "WELCOME"
    ]  # the template with none left is skipped; the card still opens


def test_the_daily_job_issues_birthday_coupons_once_a_year(make_member, check_ledgers):
    birthday = make_template(
        "BDAY", face_value=Decimal("20"), on_birthday=True, per_member_limit=10
    )
    today = make_member(birthday=date(1990, 12, 1))
    make_member(birthday=date(1990, 12, 2))

    with time_machine.travel(shanghai(2026, 12, 1, 6, 30), tick=False):
        issued = issue_automatic_coupons_task.apply(kwargs={"on": "2026-12-01"}).get()
        again = issue_automatic_coupons(on=date(2026, 12, 1), source=Source.TASK)

    assert issued == 1 and again == 0
    assert Coupon.objects.get(template=birthday).owner == today
    check_ledgers()


def test_a_first_purchase_issues_its_coupon_once(
    rules, member, django_capture_on_commit_callbacks, check_ledgers
):
    second_visit = make_template("BACK", face_value=Decimal("8"), on_first_purchase=True)

    with django_capture_on_commit_callbacks(execute=True):
        checkout(member, [line("A", "30.00")])
    with django_capture_on_commit_callbacks(execute=True) as later:
        member.refresh_from_db()
        checkout(member, [line("A", "30.00")])

    assert Coupon.objects.filter(template=second_visit, owner=member).count() == 1
    assert later == []  # a member's later sales schedule nothing
    check_ledgers()


def test_a_print_run_is_issued_once_per_form_and_within_the_total(db, check_ledgers):
    printed = make_template("PRINT", face_value=Decimal("5"), total_quantity=5)

    codes = print_coupons(template=printed, count=3, run="form-1", source=Source.ADMIN)
    same = print_coupons(template=printed, count=3, run="form-1", source=Source.ADMIN)
    rest = print_coupons(template=printed, count=3, run="form-2", source=Source.ADMIN)

    assert same == codes and len(codes) == 3 and len(rest) == 2
    assert all(coupon_codes.check_printed(c) for c in codes + rest)
    assert not Coupon.objects.filter(code__in=codes, owner__isnull=False).exists()
    check_ledgers()


def test_a_mistyped_printed_code_fails_its_check_character():
    code = coupon_codes.new_code()
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")

    assert coupon_codes.check_printed(code)
    assert coupon_codes.check_printed(code.lower()[:4] + "-" + code.lower()[4:])
    assert not coupon_codes.check_printed(wrong)
    assert not coupon_codes.check_printed(code[:-1])


def test_the_command_prints_each_new_code_on_its_own_line(member, cash10):
    out, err = StringIO(), StringIO()

    call_command(
        "issue_coupons", template="CASH10", member_phone=member.phone, count=3, stdout=out,
        stderr=err,
    )  # fmt: skip

    printed = out.getvalue().split()
    assert len(printed) == 3
    assert set(printed) == set(Coupon.objects.filter(owner=member).values_list("code", flat=True))
    assert err.getvalue() == ""


def test_the_command_says_how_many_the_limit_refused(member, cash10):
    out, err = StringIO(), StringIO()

    call_command(
        "issue_coupons", template="CASH10", member_phone=member.phone, count=8, stdout=out,
        stderr=err,
    )  # fmt: skip

    assert len(out.getvalue().split()) == 5  # the fixture's per-member limit
    assert "5" in err.getvalue() and "8" in err.getvalue()


@pytest.mark.parametrize(
    ("template", "phone", "count"),
    [("NOPE", None, 1), ("CASH10", "123", 1), ("CASH10", "13700000000", 1), ("CASH10", None, 0)],
)
def test_the_command_refuses_bad_input_clearly(member, cash10, template, phone, count):
    with pytest.raises(CommandError):
        call_command(
            "issue_coupons", template=template, member_phone=phone or member.phone, count=count,
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert not Coupon.objects.exists()


def test_issuing_past_the_dates_is_refused_before_anything_is_written(member):
    ended = make_template(
        "ENDED",
        face_value=Decimal("5"),
        validity=Version.Validity.FIXED,
        valid_until=date(2026, 1, 31),
    )

    with pytest.raises(CouponNotAvailable):
        give(ended, member)
    ended.refresh_from_db()
    assert ended.issued == 0 and not Coupon.objects.exists()


def test_a_coupon_issued_now_is_listed_in_the_lookup(member, cash10):
    from sales.selectors import member_summary

    coupon = give(cash10, member)
    listed = member_summary(member)["coupons"]

    assert [c["code"] for c in listed] == [coupon.code]
    assert listed[0]["expires_at"] == coupon.valid_until
    assert listed[0]["expires_at"] - listed[0]["valid_from"] < timedelta(days=31)
