"""Member import jobs: the admin's uploads, run inline when small, as a Celery job when big."""

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Source
from members.models import ImportJob
from stores.access import allowed_store_ids

from .members import import_members, write_error_report
from .normalize import ImportDataError


def inline_max_bytes():
    """Uploads up to this size are checked and imported during the request; bigger ones
    become a background job (settings.MEMBER_IMPORT_BACKGROUND_BYTES)."""
    return settings.MEMBER_IMPORT_BACKGROUND_BYTES


def run_import_job(*, job_id) -> ImportJob:
    """Run a waiting import job once: a dry run ends PREVIEWED, a real run DONE.

    The job is claimed by a conditional UPDATE (pending -> running), so a retried or duplicated
    task finds it claimed and does nothing; the phone's uniqueness makes a rerun of the same
    file import nothing twice anyway.
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, progress=0
    )
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job

    def progress(percent):
        ImportJob.objects.filter(pk=job_id).update(progress=percent)

    try:
        with job.file.open("rb") as upload:
            result = import_members(
                upload,
                actor=job.created_by,
                source_kind=Source.IMPORT if job.created_by else Source.TASK,
                dry_run=job.dry_run,
                update_existing=job.update_existing,
                allowed_store_ids=allowed_store_ids(job.created_by) if job.created_by else None,
                file_format=(job.original_name or job.file.name).rsplit(".", 1)[-1],
                progress=progress,
            )
    except ImportDataError as exc:
        return _fail(job, str(exc.message))
    except Exception as exc:
        # Anything unexpected (a lost file, a dropped connection): the job was claimed, so a
        # redelivered task would leave it alone; mark it failed instead of "running" for ever.
        _fail(job, _("The import stopped with an unexpected error: %(error)s") % {"error": exc})
        raise
    for name in ("rows_read", "imported", "updated", "rejected", "duplicates", "seconds"):
        setattr(job, name, getattr(result, name))
    job.status = ImportJob.Status.PREVIEWED if job.dry_run else ImportJob.Status.DONE
    job.message = result.summary()
    job.progress = 100
    job.finished_at = timezone.now()
    if result.problems:
        buffer = io.BytesIO()
        write_error_report(result, buffer)
        job.report.save(f"errors-{job.pk}.xlsx", ContentFile(buffer.getvalue()), save=False)
    job.save()
    job.result = result  # for the admin's preview page; not stored
    return job


def _fail(job, message):
    job.status, job.message = ImportJob.Status.FAILED, message[:1000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job


def confirm_import_job(*, job_id) -> ImportJob:
    """Turn a checked (dry run) job into a real import, waiting to run."""
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PREVIEWED).update(
        status=ImportJob.Status.PENDING, dry_run=False, message=_("Waiting to import.")
    )
    return ImportJob.objects.get(pk=job_id)
