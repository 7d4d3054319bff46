"""Background jobs when the broker (Redis) blinks: an operator's request never fails because
the broker is away, the job says 排队失败 and is queued again by the reaper or by 重试; a job
whose worker stopped says 可能已中断 with its last heartbeat's age; however often it is queued
again, it runs once. A real redis-server as the broker, stopped mid-test."""

import re
from datetime import timedelta

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from coupons.models import Coupon
from members import bulk
from members.models import BulkJob, ImportJob, Member
from members.tasks import run_member_bulk_job
from tests.coupons.conftest import cash10, make_member  # noqa: F401  (fixtures)
from tests.members.xlsx import member_row, write_workbook
from tests.services import RedisServer

MEMBERS = reverse("admin:members_member_changelist")


@pytest.fixture
def broker():
    """Celery publishing to a real Redis (the rest of the suite runs tasks eagerly)."""
    server = RedisServer().start()
    conf = app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, server.url()
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield server
    finally:
        conf.task_always_eager, conf.broker_url = saved
        app._pool, app.amqp._producer_pool = None, None
        server.stop()


def queued(server):
    return redis.Redis.from_url(server.url()).llen("celery")


@pytest.fixture
def crowd(make_member, chain):  # noqa: F811
    return [make_member(store=chain["SH001"]) for _ in range(5)]


def _issue_across(client, chain, crowd, template, capture):
    url = f"{MEMBERS}?home_store={chain['SH001'].pk}"
    across = {"action": "issue_coupon_action", "select_across": "1",
              "_selected_action": [crowd[0].pk]}  # fmt: skip
    asked = client.post(url, {**across, "index": "0"})
    token = asked.context["form"].initial["token"]
    with capture(execute=True):
        return client.post(url, {**across, "apply": "1", "token": token,
                                 "template": template.pk, "store": chain["SH001"].pk})  # fmt: skip


def test_a_coupon_job_started_while_the_broker_is_down_is_marked_then_retried_and_runs_once(
    broker, client, head_office, chain, crowd, cash10, django_capture_on_commit_callbacks,  # noqa: F811
    check_ledgers,
):  # fmt: skip
    client.force_login(head_office)
    broker.stop()

    started = _issue_across(client, chain, crowd, cash10, django_capture_on_commit_callbacks)

    job = BulkJob.objects.get()
    assert started.status_code == 302, "the operator's request does not fail"
    assert started.url == reverse("admin:members_bulkjob_change", args=[job.pk])
    assert job.status == BulkJob.Status.UNQUEUED and "Redis" in job.message
    page = client.get(started.url).content.decode()
    retry = reverse("admin:members_bulkjob_retry", args=[job.pk])
    assert "排队失败" in page and f'action="{retry}"' in page

    broker.start()
    assert client.post(retry).status_code == 302
    job.refresh_from_db()
    assert job.status == BulkJob.Status.PENDING and job.queued_at is not None
    assert queued(broker) == 1
    client.post(retry)  # pressed again: queued a moment ago, nothing to retry
    assert queued(broker) == 1

    app.conf.task_always_eager = True  # the worker's part: the message, delivered twice
    run_member_bulk_job.delay(job.pk)
    run_member_bulk_job.delay(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.succeeded) == ("done", 1, 5)
    assert Coupon.objects.count() == 5
    check_ledgers()


def test_an_import_and_a_points_file_started_while_the_broker_is_down_are_reaped_later(
    broker, client, head_office, chain, settings, tmp_path, django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEMBER_IMPORT_BACKGROUND_BYTES = 0  # every upload is a background job
    client.force_login(head_office)
    members = write_workbook(tmp_path / "m.xlsx", [member_row("13800000009", 开卡门店="SH001")])
    points = write_workbook(tmp_path / "p.xlsx", [["13800000009", 10, "补发"]],
                            headers=["手机号", "积分", "原因"])  # fmt: skip
    broker.stop()

    with django_capture_on_commit_callbacks(execute=True):
        imported = client.post(reverse("admin:members_importjob_add"),
                               {"file": SimpleUploadedFile("m.xlsx", members.read_bytes())})
        awarded = client.post(reverse("admin:loyalty_pointsadjustment_award"),
                              {"file": SimpleUploadedFile("p.xlsx", points.read_bytes())})

    assert (imported.status_code, awarded.status_code) == (302, 302)
    job, award = ImportJob.objects.get(), BulkJob.objects.get()
    assert (job.status, award.status) == ("unqueued", "unqueued")
    status = client.get(reverse("admin:members_importjob_status", args=[job.pk])).json()
    assert status["state"] == "unqueued" and status["status_display"] == "排队失败"
    assert status["retry_url"] == reverse("admin:members_importjob_retry", args=[job.pk])
    assert not status["finished"]
    with pytest.raises(CommandError, match="broker"):
        call_command("reap_import_jobs")  # still down: says so, exits 1

    broker.start()
    call_command("reap_import_jobs")

    job.refresh_from_db(), award.refresh_from_db()
    assert (job.status, award.status) == ("pending", "pending")
    assert queued(broker) == 2


def test_the_reaper_takes_back_exactly_the_stuck_jobs(broker, head_office):
    from members.queueing import reap_jobs

    now = timezone.now()
    long_ago, moments_ago = now - timedelta(minutes=10), now - timedelta(seconds=5)
    make = BulkJob.objects.create
    lost = make(kind="tag", status="pending", queued_at=long_ago, created_by=head_office)
    fresh = make(kind="tag", status="pending", queued_at=moments_ago, created_by=head_office)
    dead = make(kind="tag", status="running", heartbeat_at=long_ago, created_by=head_office)
    alive = make(kind="tag", status="running", heartbeat_at=moments_ago, created_by=head_office)
    make(kind="tag", status="done", heartbeat_at=long_ago, created_by=head_office)

    report = reap_jobs()

    assert report["bulkjob"] == {"queued": [lost.pk, dead.pk], "unqueued": []}
    assert queued(broker) == 2
    broker.stop()
    assert reap_jobs()["bulkjob"] == {"queued": [], "unqueued": [dead.pk]}  # lost: fresh now
    dead.refresh_from_db(), fresh.refresh_from_db(), alive.refresh_from_db()
    assert (dead.status, fresh.status, alive.status) == ("running", "pending", "running")


def test_an_interrupted_job_shows_its_heartbeat_and_retry_resumes_it_once(
    client, head_office, chain, crowd
):
    job = BulkJob.objects.create(
        kind="tag", params={"tag": "周末"}, status="running", attempts=1, created_by=head_office,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    client.force_login(head_office)
    page = client.get(reverse("admin:members_bulkjob_change", args=[job.pk])).content.decode()
    retry = reverse("admin:members_bulkjob_retry", args=[job.pk])
    assert "可能已中断" in page and f'action="{retry}"' in page
    assert re.search(r"最后心跳.*?5 分 \d+ 秒前", page, re.S)  # the last heartbeat's age

    client.post(retry)  # tasks run eagerly here: resumed and finished during the request
    client.post(retry)  # again: it is done, nothing to retry

    job.refresh_from_db()
    assert (job.status, job.attempts, job.succeeded) == ("done", 2, 5)
    assert Member.objects.filter(tags__name="周末").count() == 5


def test_a_worker_taken_for_dead_cannot_commit_beside_its_successor(
    head_office, crowd, monkeypatch
):
    """The reaper handed the job to another worker while this one was stalled: this one's
    next checkpoint finds the claim gone and rolls its chunk back."""
    job = BulkJob.objects.create(kind="tag", params={"tag": "周末"}, created_by=head_office)
    real = bulk.OPERATIONS["tag"]

    def taken_over_meanwhile(**kwargs):
        BulkJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 5)  # another claim
        return real.run(**kwargs)

    stalled = bulk.BulkOperation("tag", "x", taken_over_meanwhile)
    monkeypatch.setitem(bulk.OPERATIONS, "tag", stalled)
    bulk.run_bulk_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.processed) == ("running", 0)  # the successor's to finish
    assert not Member.objects.filter(tags__name="周末").exists()


def test_the_reaper_runs_every_minute_against_a_two_minute_heartbeat(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["members-reap-jobs"]["schedule"]
    assert schedule.minute == set(range(60))
    assert settings.IMPORT_JOB_STALE_SECONDS == 120
