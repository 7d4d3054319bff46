"""The progress of a member import, for the page that watches it: a small JSON status of the
job, and the page whose bar polls it until the job ends. A background check (dry run) ends on
the same page with its summary, the error report and the button that imports the valid rows.

Reads only ImportJob's own fields (status, heartbeat, progress, counts, message, report)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from members.models import ImportJob
from members.queueing import job_state

FINISHED = {ImportJob.Status.PREVIEWED, ImportJob.Status.DONE, ImportJob.Status.FAILED}


def report_url(job):
    return reverse("admin:members_importjob_report", args=[job.pk]) if job.report else None


def job_status(job, retry_url=None):
    """What the progress page shows, as JSON-ready values: the job's state (its status, or
    排队失败 / 可能已中断 / 等待已久 with a 重试 URL), the last heartbeat's age, the counts."""
    from members.admin.jobs import heartbeat_text

    state, state_display = job_state(job)
    return {
        "id": job.pk,
        "status": job.status,
        "state": state,
        "status_display": str(state_display),
        "heartbeat": heartbeat_text(job),
        "retry_url": retry_url,
        "progress": job.progress,
        "finished": job.status in FINISHED,
        "dry_run": job.dry_run,
        "rows_read": job.rows_read,
        "imported": job.imported,
        "updated": job.updated,
        "rejected": job.rejected,
        "duplicates": job.duplicates,
        "message": job.message,
        "report_url": report_url(job),
        "confirm_url": (
            reverse("admin:members_importjob_confirm", args=[job.pk])
            if job.status == ImportJob.Status.PREVIEWED
            else None
        ),
    }


def status_view(modeladmin, request, job_id):
    """GET: the job's status as JSON (the user's own imports for a store's staff)."""
    job = get_object_or_404(modeladmin.get_queryset(request), pk=job_id)
    response = JsonResponse(job_status(job, modeladmin.retry_url(request, job)))
    response["Cache-Control"] = "no-store"
    return response


def progress_view(modeladmin, request, job_id):
    """The page with the self-refreshing bar."""
    job = get_object_or_404(modeladmin.get_queryset(request), pk=job_id)
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": _("Member import: %(name)s") % {"name": job.original_name or job.pk},
        "job": job,
        "initial": job_status(job, modeladmin.retry_url(request, job)),
        "status_url": reverse("admin:members_importjob_status", args=[job.pk]),
        "list_url": reverse("admin:members_importjob_changelist"),
    }
    return TemplateResponse(request, "admin/members/import_progress.html", context)
