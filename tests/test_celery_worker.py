"""Background jobs through a real Celery worker and a real Redis broker.

The rest of the suite calls tasks with `.apply()`; this test proves the production wiring:
the admin's big import becomes a message on Redis, a separate worker process picks it up,
works on the same PostgreSQL database and finishes the job.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from config.celery import app
from members.models import ImportJob, Member
from members.tasks import run_member_import
from tests.members.xlsx import member_row, write_workbook
from tests.services import RedisServer

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def broker_url():
    redis = RedisServer().start()
    try:
        yield redis.url()
    finally:
        redis.stop()


@pytest.fixture
def worker(broker_url, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    db = connection.settings_dict
    if (db["HOST"] or "").startswith("/"):  # a Unix socket directory (the embedded server)
        database_url = f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}"
    else:
        database_url = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url,
           "MEDIA_ROOT": settings.MEDIA_ROOT, "DJANGO_SETTINGS_MODULE": "config.settings"}
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield broker_url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _send_over_redis(broker_url, job):
    # The suite runs tasks eagerly (no broker configured); send this one over Redis instead.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with app.connection_for_write(broker_url) as conn:
            run_member_import.apply_async(args=[job.pk], connection=conn)
    finally:
        app.conf.task_always_eager = eager


def _wait_until_finished(job, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            return
        time.sleep(0.3)


def test_it_runs_a_member_import_on_a_real_worker(worker, tmp_path, settings, chain,
                                                  head_office, check_ledgers):
    path = write_workbook(
        tmp_path / "m.xlsx",
        [member_row("13800000001", 开卡门店="SH001", 积分=5),
         member_row("13800000002", 开卡门店="BJ001", 储值余额="¥20"),
         member_row("not-a-phone", 开卡门店="SH001")],
    )
    job = ImportJob(original_name="m.xlsx", created_by=head_office)
    job.file.save("m.xlsx", ContentFile(path.read_bytes()))

    _send_over_redis(worker, job)

    _wait_until_finished(job)
    log = (tmp_path / "worker.log").read_text()
    assert job.status == ImportJob.Status.DONE, log[-3000:]
    assert (job.imported, job.rejected, job.progress) == (2, 1, 100)
    assert set(Member.objects.values_list("phone", flat=True)) == {"13800000001", "13800000002"}
    check_ledgers()


def test_it_marks_a_job_failed_when_the_worker_cannot_finish_it(worker, tmp_path, head_office):
    job = ImportJob(original_name="m.xlsx", created_by=head_office)
    job.file.save("m.xlsx", ContentFile(b"placeholder"))
    Path(job.file.path).unlink()  # the upload vanished between the request and the worker

    _send_over_redis(worker, job)

    _wait_until_finished(job)
    assert job.status == ImportJob.Status.FAILED
    assert job.message
