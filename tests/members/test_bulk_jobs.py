"""Bulk actions on a whole filter of the member list run as background jobs (selected by the
filter, not by ids), resume after a killed worker, and points can be awarded from a file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import Source
from loyalty.models import PointsAdjustment, PointsEntry
from members import bulk
from members.bulk import reap_bulk_jobs
from members.models import BulkJob, Member, Tier
from members.services import open_member
from tests.members.xlsx import read_rows, write_workbook

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:members_member_changelist"


@pytest.fixture
def tiers(db):
    return {
        "normal": Tier.objects.create(code="normal", name="普通会员", rank=1, is_default=True),
        "gold": Tier.objects.create(code="gold", name="金卡会员", rank=3),
    }


@pytest.fixture
def members(chain, tiers):
    made = {}
    for n in range(5):
        made[f"SH{n}"] = open_member(
            phone=f"1380000000{n}", home_store=chain["SH001"], source=Source.ADMIN, name="张三"
        )
    for n in range(3):
        made[f"BJ{n}"] = open_member(
            phone=f"1390000000{n}", home_store=chain["BJ001"], source=Source.ADMIN, name="李四"
        )
    return made


def _post_action(client, user, query, action, one_member, **form):
    client.force_login(user)
    return client.post(
        reverse(CHANGELIST) + query,
        {
            "action": action,
            "select_across": "1",
            "index": "0",
            "_selected_action": [one_member.pk],
            "apply": "1",
            **form,
        },
    )


def test_change_tier_on_a_whole_filter_runs_as_a_job_over_that_filter(
    client, head_office, chain, tiers, members, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_action(
            client,
            head_office,
            f"?home_store={chain['SH001'].pk}",
            "change_tier",
            members["SH0"],
            tier=tiers["gold"].pk,
        )
    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:members_bulkjob_change", args=[job.pk])
    assert f"home_store={chain['SH001'].pk}" in job.filter and job.params == {
        "tier": tiers["gold"].pk
    }
    job.refresh_from_db()
    assert (job.status, job.progress, job.total, job.processed) == ("done", 100, 5, 5)
    gold = Member.objects.filter(tier=tiers["gold"])
    assert set(gold.values_list("home_store__code", flat=True)) == {"SH001"}
    assert Member.objects.filter(tier=tiers["gold"]).count() == 5
    page = client.get(response.url)
    assert page.status_code == 200


def test_a_store_managers_job_reaches_only_their_stores_members(
    client, sh001_manager, chain, members, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _post_action(client, sh001_manager, "", "add_tag", members["SH0"], tag="周末活动")
    job = BulkJob.objects.get()
    assert job.status == "done" and job.total == 5
    tagged = Member.objects.filter(tags__name="周末活动")
    assert set(tagged.values_list("home_store__code", flat=True)) == {"SH001"}


def test_a_ticked_page_is_still_done_at_once(client, head_office, members, tiers):
    client.force_login(head_office)
    client.post(
        reverse(CHANGELIST),
        {"action": "freeze", "index": "0", "_selected_action": [members["BJ0"].pk]},
    )
    assert not BulkJob.objects.exists()
    assert Member.objects.get(pk=members["BJ0"].pk).status == "frozen"


class Killed(BaseException):
    pass


def test_an_adjust_points_job_killed_halfway_resumes_and_adjusts_each_member_once(
    client, head_office, chain, members, monkeypatch, settings, check_ledgers,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    monkeypatch.setattr(bulk, "CHUNK", 2)
    real = bulk.OPERATIONS["adjust_points"]
    calls = []

    def dies_on_the_second_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real.run(**kwargs)

    dying = bulk.BulkOperation("adjust_points", "x", dies_on_the_second_chunk)
    monkeypatch.setitem(bulk.OPERATIONS, "adjust_points", dying)
    with pytest.raises(Killed), django_capture_on_commit_callbacks(execute=True):
        _post_action(
            client, head_office, "", "adjust_points_action", members["SH0"],
            points="10", reason_category="campaign", reason="双十一",
        )  # fmt: skip
    job = BulkJob.objects.get()
    assert (job.status, job.processed) == ("running", 2)
    assert PointsAdjustment.objects.count() == 2

    settings.IMPORT_JOB_STALE_SECONDS = 0
    assert reap_bulk_jobs() == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.processed, job.succeeded) == ("done", 8, 8)
    assert PointsAdjustment.objects.count() == 8
    assert (
        sorted(PointsEntry.objects.filter(kind="adjust").values_list("points", flat=True))
        == [10] * 8
    )
    check_ledgers()


def test_points_awarded_from_a_file_report_the_rows_they_could_not_award(
    client, head_office, members, tmp_path, settings, check_ledgers,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rows = [
        ["13800000000", 100, "抽奖中奖"],  # row 2: fine
        ["138 0000 0001", "200", "抽奖中奖"],  # row 3: fine (messy phone)
        ["1380000", 100, "抽奖中奖"],  # row 4: invalid phone
        ["13700000000", 100, "抽奖中奖"],  # row 5: not a member
        ["13800000002", 0, "抽奖中奖"],  # row 6: no points
        ["13800000003", 50, ""],  # row 7: no reason
        ["13800000000", 100, "又一次"],  # row 8: same member as row 2
        ["13800000004", -5, "扣分"],  # row 9: negative
    ]
    path = write_workbook(tmp_path / "award.xlsx", rows, headers=["手机号", "积分", "原因"])
    client.force_login(head_office)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:loyalty_pointsadjustment_award"),
            {"file": SimpleUploadedFile("award.xlsx", path.read_bytes())},
        )
    job = BulkJob.objects.get()
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.succeeded, job.failed, job.processed) == ("done", 2, 6, 8)
    assert Member.objects.get(phone="13800000000").points_account.balance == 100
    assert Member.objects.get(phone="13800000001").points_account.balance == 200
    report = read_rows(job.report.path)
    assert report[0][:3] == ["行号", "原因", "手机号"] or report[0][2] == "手机号"
    assert [line[0] for line in report[1:]] == [4, 5, 6, 7, 8, 9]
    assert report[1][2] == "1380000"
    check_ledgers()


def test_the_award_page_needs_the_adjust_permission(client, sh001_manager, tmp_path):
    client.force_login(sh001_manager)
    response = client.get(reverse("admin:loyalty_pointsadjustment_award"))
    assert response.status_code == 403
