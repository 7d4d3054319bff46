"""The progress of a member import, for the page that watches it: a small JSON status of the
job, and the page whose bar polls it until the job ends. A background check (dry run) ends on
the same page with its summary, the error report and the button that imports the valid rows.

Reads only ImportJob's own fields (status, progress, counts, message, report)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from members.models import ImportJob

FINISHED = {ImportJob.Status.PREVIEWED, ImportJob.Status.DONE, ImportJob.Status.FAILED}


def job_status(job):
    """What the progress page shows, as JSON-ready values."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "progress": job.progress,
        "finished": job.status in FINISHED,
        "dry_run": job.dry_run,
        "rows_read": job.rows_read,
        "imported": job.imported,
        "updated": job.updated,
        "rejected": job.rejected,
        "duplicates": job.duplicates,
        "message": job.message,
        "report_url": job.report.url if job.report else None,
        "confirm_url": (
            reverse("admin:members_importjob_confirm", args=[job.pk])
            if job.status == ImportJob.Status.PREVIEWED
            else None
        ),
    }


def status_view(modeladmin, request, job_id):
    """GET: the job's status as JSON (the user's own imports for a store's staff)."""
    job = get_object_or_404(modeladmin.get_queryset(request), pk=job_id)
    response = JsonResponse(job_status(job))
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
        "initial": job_status(job),
        "status_url": reverse("admin:members_importjob_status", args=[job.pk]),
        "list_url": reverse("admin:members_importjob_changelist"),
    }
    return TemplateResponse(request, "admin/members/import_progress.html", context)
