"""Member import jobs: the admin's uploads, run inline when small, as a Celery job when big.

A job commits chunk by chunk (members.importing.members), each chunk with the job's counters,
its resume point (`rows_done`) and a heartbeat. A worker killed halfway (or one that lost its
database) leaves the job RUNNING with a heartbeat that stops moving: the reaper
(members.queueing: every minute from Celery beat, or `manage.py reap_import_jobs`, which reaps
every kind of job) hands it back to a worker, which resumes after the last committed chunk. A
job that could not be queued (the broker was away) is UNQUEUED and queued again the same way.
A resumed job posts nothing twice: members are unique by phone, every ledger write of an
import is keyed by member, and a chunk commits only while its worker's claim still holds.
"""

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Source
from members.models import ImportJob
from members.queueing import JobSuperseded, claim, owned, reap, update_owned
from stores.access import allowed_store_ids

from .members import ImportResult, import_members, write_error_report
from .normalize import ImportDataError

MAX_ATTEMPTS = 5


def inline_max_bytes():
    """Uploads up to this size are checked and imported during the request; bigger ones
    become a background job (settings.MEMBER_IMPORT_BACKGROUND_BYTES)."""
    return settings.MEMBER_IMPORT_BACKGROUND_BYTES


def run_import_job(*, job_id) -> ImportJob:
    """Run a waiting import job: a dry run ends PREVIEWED, a real run DONE; a job that stopped
    halfway resumes after its last committed chunk.

    The job is claimed by a conditional UPDATE, so a retried or duplicated task finds it
    claimed and does nothing; the phone's uniqueness and the ledger keys make a rerun of the
    same rows import and post nothing twice anyway.
    """
    claimed = claim(ImportJob, job_id)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    if job.attempts > MAX_ATTEMPTS:
        return _fail(job, _("The import stopped %(n)d times; giving up.") % {"n": job.attempts - 1})
    if job.dry_run or not job.rows_done:
        # A first run (or a dry run, which writes nothing to resume from) starts afresh: the
        # problems of a dry run, or of an interrupted check, are not this run's.
        job.problems.all().delete()
        job.rows_done = 0

    try:
        with job.file.open("rb") as upload:
            result = import_members(
                upload,
                actor=job.created_by,
                source_kind=Source.IMPORT if job.created_by else Source.TASK,
                dry_run=job.dry_run,
                update_existing=job.update_existing,
                registration_bonus=job.registration_bonus,
                allowed_store_ids=allowed_store_ids(job.created_by) if job.created_by else None,
                file_format=(job.original_name or job.file.name).rsplit(".", 1)[-1],
                job=job,
            )
    except ImportDataError as exc:
        return _fail(job, str(exc.message))
    except JobSuperseded:
        return ImportJob.objects.get(pk=job_id)  # another worker took over: it finishes
    except (OperationalError, InterfaceError):
        # The database went away (a restart, a dropped connection): not the import's fault.
        # The job stays RUNNING; its heartbeat stops, and the reaper resumes it once the
        # database is back, after its last committed chunk.
        raise
    except Exception as exc:
        # Anything unexpected (a lost file, a dropped connection): mark it failed instead of
        # "running" for ever; what committed stays committed, a rerun skips it.
        _fail(job, _("The import stopped with an unexpected error: %(error)s") % {"error": exc})
        raise
    return _finish(job, result)


def _finish(job, result: ImportResult):
    for name in ("rows_read", "imported", "updated", "rejected", "duplicates", "seconds"):
        setattr(job, name, getattr(result, name))
    job.message = result.summary()
    job.progress = 100
    job.finished_at = timezone.now()
    if job.problems.exists():
        buffer = io.BytesIO()
        write_error_report(result, buffer, problems=_problem_rows(job))
        job.report.save(f"errors-{job.pk}.xlsx", ContentFile(buffer.getvalue()), save=False)
    fields = ["message", "progress", "finished_at", "report", "rows_read", "imported",
              "updated", "rejected", "duplicates", "seconds"]  # fmt: skip
    status = ImportJob.Status.PREVIEWED if job.dry_run else ImportJob.Status.DONE
    try:
        update_owned(job, status=status, **{name: getattr(job, name) for name in fields})
    except JobSuperseded:
        return ImportJob.objects.get(pk=job.pk)
    job.refresh_from_db(fields=["status"])
    job.result = result  # for the admin's preview page; not stored
    return job


def _problem_rows(job):
    from .members import RowProblem

    rows = job.problems.order_by("row_no", "id").values_list("row_no", "reason", "values")
    return (RowProblem(*row) for row in rows.iterator(chunk_size=5000))


def _fail(job, message):
    job.message, job.finished_at = message[:1000], timezone.now()
    if owned(job).update(status=ImportJob.Status.FAILED, message=job.message,
                         finished_at=job.finished_at):  # fmt: skip
        job.status = ImportJob.Status.FAILED
    return job


def confirm_import_job(*, job_id) -> ImportJob:
    """Turn a checked (dry run) job into a real import, waiting to run from the first row."""
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PREVIEWED).update(
        status=ImportJob.Status.PENDING,
        dry_run=False,
        rows_done=0,
        rows_read=0,
        imported=0,
        updated=0,
        rejected=0,
        duplicates=0,
        progress=0,
        attempts=0,
        seconds=0,
        message=_("Waiting to import."),
    )
    return ImportJob.objects.get(pk=job_id)


def reap_import_jobs() -> list[int]:
    """Queue again the import jobs that are stuck (members.queueing.stuck: killed while running,
    never queued, or lost on the way); returns the ids queued."""
    return reap(ImportJob)[0]
