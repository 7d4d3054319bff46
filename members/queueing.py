"""Queueing the background jobs (ImportJob, BulkJob), and getting back those that never ran.

A job row is committed first and its task queued after the commit (`queue_job`), so a worker
never looks for a row that is not there yet. If the broker is away, the operator's request
still succeeds: the job is marked UNQUEUED (排队失败) and the reaper (`reap_jobs`, every minute
from beat, or `manage.py reap_jobs` / `reap_import_jobs`) queues it again. The reaper also
takes back:

- a RUNNING job silent for `IMPORT_JOB_STALE_SECONDS` (its worker was killed or lost its
  database): it resumes after its last committed chunk (可能已中断 on its page);
- a PENDING job queued longer ago than `JOB_REQUEUE_PENDING_SECONDS` that no worker took (the
  message was lost with a broker that restarted empty).

Sending a job twice is harmless: a worker takes a job only through the claim, one conditional
UPDATE of its row (members.importing.jobs, members.bulk), and each claim's number (`attempts`)
fences the chunks it commits, so a job runs once however many messages name it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import queueing
from members.models import BulkJob, ImportJob

JOB_MODELS = (ImportJob, BulkJob)


def _task(model):
    from members import tasks

    return tasks.run_member_import if model is ImportJob else tasks.run_member_bulk_job


def stale_after():
    """A running job beats once per chunk (seconds apart); one silent this long is dead."""
    return timedelta(seconds=settings.IMPORT_JOB_STALE_SECONDS)


def requeue_pending_after():
    return timedelta(seconds=settings.JOB_REQUEUE_PENDING_SECONDS)


def queue_job(job):
    """Queue `job` once the current transaction commits (at once outside one)."""
    model, job_id = type(job), job.pk
    transaction.on_commit(lambda: send_job(model, job_id))


def send_job(model, job_id) -> bool:
    """Hand the job to the broker now. False if the broker is away: the job is then UNQUEUED
    (unless a worker has it already) with a message saying so."""
    Status = model.Status
    now = timezone.now()
    if not queueing.send(_task(model), job_id):
        model.objects.filter(pk=job_id, status__in=[Status.PENDING, Status.UNQUEUED]).update(
            status=Status.UNQUEUED,
            message=_(
                "Could not be queued: the message broker (Redis) was not reachable. It is "
                "queued again automatically within a few minutes, or press Retry."
            ),
        )
        return False
    model.objects.filter(pk=job_id).update(queued_at=now)
    model.objects.filter(pk=job_id, status=Status.UNQUEUED).update(
        status=Status.PENDING, message=_("Waiting for a worker.")
    )
    return True


def stuck(model, now=None):
    """The condition of the jobs the reaper takes back (see the module doc)."""
    now = now or timezone.now()
    Status = model.Status
    waiting_long = now - requeue_pending_after()
    return (
        Q(status=Status.UNQUEUED)
        | Q(status=Status.RUNNING, heartbeat_at__lt=now - stale_after())
        | Q(status=Status.PENDING, queued_at__lt=waiting_long)
        | Q(status=Status.PENDING, queued_at=None, created_at__lt=waiting_long)
    )


def reap(model, now=None) -> tuple[list[int], list[int]]:
    """Queue again the stuck jobs of one kind: (ids queued, ids the broker still refused)."""
    ids = model.objects.filter(stuck(model, now)).order_by("pk").values_list("pk", flat=True)
    queued, refused = [], []
    for job_id in list(ids):
        (queued if send_job(model, job_id) else refused).append(job_id)
    return queued, refused


def reap_jobs(now=None) -> dict:
    """Queue again every stuck job of every kind (see the module doc): {kind: {"queued": ids,
    "unqueued": ids the broker still refused}}."""
    report = {}
    for model in JOB_MODELS:
        queued, refused = reap(model, now)
        report[model._meta.model_name] = {"queued": queued, "unqueued": refused}
    return report


class JobSuperseded(Exception):
    """This worker's claim on the job is no longer the job's: another worker took it over
    (this one was taken for dead). The chunk in hand rolls back; the other worker does it."""


def claim(model, job_id):
    """Take the job: a waiting one (queued or not), or a running one whose worker stopped
    beating. One conditional UPDATE, so two workers handed the same job cannot both take it;
    each claim adds one to `attempts`, which is that claim's fencing token."""
    now = timezone.now()
    Status = model.Status
    dead = Q(status=Status.RUNNING, heartbeat_at__lt=now - stale_after())
    return model.objects.filter(
        Q(status__in=[Status.PENDING, Status.UNQUEUED]) | dead, pk=job_id
    ).update(status=Status.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1)


def owned(job):
    """The job's row while this worker's claim holds (its `attempts` is still the claim's):
    every checkpoint and the finish update through it and raise JobSuperseded on 0 rows."""
    model = type(job)
    return model.objects.filter(pk=job.pk, attempts=job.attempts, status=model.Status.RUNNING)


def update_owned(job, **fields):
    if not owned(job).update(**fields):
        raise JobSuperseded(job.pk)


def job_state(job, now=None):
    """(code, label) of what the job's page says: its status, or 可能已中断 for a running job
    whose heartbeat stopped, or 等待已久 for a waiting one no worker took."""
    now = now or timezone.now()
    Status = type(job).Status
    if job.status == Status.RUNNING and (
        job.heartbeat_at is None or job.heartbeat_at < now - stale_after()
    ):
        return "interrupted", _("May have been interrupted")
    since = job.queued_at or job.created_at
    if job.status == Status.PENDING and since < now - requeue_pending_after():
        return "waiting_long", _("Waiting for a long time")
    return job.status, str(job.get_status_display())


def can_retry(job, now=None):
    return job_state(job, now)[0] in ("unqueued", "interrupted", "waiting_long")


def heartbeat_age(job, now=None):
    """Seconds since the job last reported (None before it first ran)."""
    if job.heartbeat_at is None:
        return None
    return max(0.0, ((now or timezone.now()) - job.heartbeat_at).total_seconds())


def retry_job(job) -> bool:
    """The operator's 重试 on a stuck job: queue it again now. The claim decides who runs it,
    so pressing twice, or the reaper doing the same, still runs it once."""
    if not can_retry(job):
        return False
    return send_job(type(job), job.pk)
