"""Issuing to many members as background jobs (members.bulk): every member of a filter of the
member list, or the members an Excel file of phones lists; set-based, once per form, within
the template's total, with refused rows reported with their row numbers."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coupons.models import Coupon
from members.bulk import run_bulk_job
from members.models import BulkJob
from tests.coupons.conftest import make_template
from tests.members.xlsx import read_rows, write_workbook

MEMBERS = reverse("admin:members_member_changelist")


@pytest.fixture
def crowd(make_member, chain):
    return {
        "sh": [make_member(store=chain["SH001"]) for _ in range(5)],
        "bj": [make_member(store=chain["BJ001"]) for _ in range(3)],
    }


def test_head_office_issues_to_a_whole_filter_as_a_job(
    client, head_office, chain, crowd, cash10, django_capture_on_commit_callbacks, check_ledgers
):
    client.force_login(head_office)
    url = f"{MEMBERS}?home_store={chain['SH001'].pk}"
    ticked = {"_selected_action": [crowd["sh"][0].pk]}  # the page's boxes, then "select all"
    across = {"action": "issue_coupon_action", "select_across": "1", **ticked}

    asked = client.post(url, {**across, "index": "0"})
    assert asked.status_code == 200 and asked.context["count"] == 5  # the filter's size
    token = asked.context["form"].initial["token"]
    filled = {**across, "apply": "1", "token": token, "template": cash10.pk,
              "store": chain["SH001"].pk}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(url, filled)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, filled)  # the same form sent again: a second job, nothing twice

    jobs = list(BulkJob.objects.order_by("pk"))
    assert started.status_code == 302
    assert started.url == reverse("admin:members_bulkjob_change", args=[jobs[0].pk])
    assert [j.status for j in jobs] == ["done", "done"]
    owners = set(Coupon.objects.values_list("owner__home_store__code", flat=True))
    assert owners == {"SH001"} and Coupon.objects.count() == 5
    check_ledgers()


def test_members_over_the_total_are_the_jobs_refused_rows(
    client, head_office, chain, crowd, django_capture_on_commit_callbacks
):
    scarce = make_template("FEW", face_value=Decimal("5"), total_quantity=3)
    client.force_login(head_office)
    url = f"{MEMBERS}?home_store={chain['SH001'].pk}"
    across = {"action": "issue_coupon_action", "select_across": "1",
              "_selected_action": [crowd["sh"][0].pk]}  # fmt: skip
    token = client.post(url, {**across, "index": "0"}).context["form"].initial["token"]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**across, "apply": "1", "token": token, "template": scarce.pk,
                          "store": chain["SH001"].pk})  # fmt: skip

    job = BulkJob.objects.get()
    assert (job.succeeded, job.failed) == (3, 2)
    assert {p.reason for p in job.problems.all()} == {"此优惠券已发完。"}
    assert Coupon.objects.count() == 3


def test_a_store_manager_cannot_issue_to_a_filter(client, sh001_manager, chain, crowd, cash10):
    client.force_login(sh001_manager)

    response = client.post(
        MEMBERS, {"action": "issue_coupon_action", "select_across": "1", "index": "0",
                  "_selected_action": [crowd["sh"][0].pk], "apply": "1", "template": cash10.pk,
                  "token": "t"}  # fmt: skip
    )

    assert response.status_code in (200, 302, 403)
    assert not BulkJob.objects.exists() and not Coupon.objects.exists()


def test_an_excel_list_of_phones_issues_and_reports_its_bad_rows(
    client, head_office, crowd, cash10, tmp_path, django_capture_on_commit_callbacks,
    check_ledgers,
):  # fmt: skip
    first, second = crowd["sh"][0], crowd["bj"][0]
    rows = [
        [first.phone],
        ["138 0000 00"],  # not a phone
        [second.phone],
        [first.phone],  # the same member again
        ["13999999999"],  # not a member
        [""],  # a blank row: skipped, as the member import skips it
    ]
    path = write_workbook(tmp_path / "phones.xlsx", rows, headers=["手机号"])
    client.force_login(head_office)
    url = reverse("admin:coupons_coupontemplate_issue_file", args=[cash10.pk])
    token = client.get(url).context["form"].initial["token"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"token": token, "file": SimpleUploadedFile("phones.xlsx", path.read_bytes())}
        )

    job = BulkJob.objects.get()
    assert response.url == reverse("admin:members_bulkjob_change", args=[job.pk])
    assert (job.status, job.succeeded, job.failed) == ("done", 2, 3)
    assert set(Coupon.objects.values_list("owner", flat=True)) == {first.pk, second.pk}
    report = read_rows(job.report.path)
    assert [row[0] for row in report[1:]] == [3, 5, 6]  # the rows Excel shows
    check_ledgers()


def test_a_resumed_file_job_issues_nothing_twice(head_office, crowd, cash10, tmp_path):
    from members.bulk import start_file_job

    phones = [[m.phone] for m in crowd["sh"]]
    path = write_workbook(tmp_path / "phones.xlsx", phones, headers=["手机号"])
    job = start_file_job(
        kind="issue_coupons_file",
        upload=SimpleUploadedFile("phones.xlsx", path.read_bytes()),
        params={"template": cash10.pk, "occasion": "file:resume"},
        actor=head_office,
    )
    run_bulk_job(job_id=job.pk)
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.PENDING, rows_done=0)

    run_bulk_job(job_id=job.pk)  # as if the worker had died before its checkpoint

    assert Coupon.objects.count() == 5


def test_the_file_page_needs_the_issue_permission(client, sh001_manager, cash10):
    client.force_login(sh001_manager)

    response = client.get(reverse("admin:coupons_coupontemplate_issue_file", args=[cash10.pk]))

    assert response.status_code == 403
