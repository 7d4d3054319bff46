"""Member import in the admin: upload, dry-run preview with per-row errors, confirm.

Small files run during the request; big ones become an ImportJob run by Celery, with
progress and the error report on the job's row.
"""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import excel
from core.formatting import format_duration
from members.admin import import_progress
from members.admin.jobs import JobAdminMixin
from members.importing.jobs import confirm_import_job, inline_max_bytes, run_import_job
from members.importing.members import write_template
from members.models import ImportJob
from members.queueing import queue_job
from stores.access import allowed_store_ids

PREVIEW_ROWS = 200


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("file"),
        help_text=gettext_lazy("Excel (.xlsx) or CSV, template headers."),
    )
    update_existing = forms.BooleanField(
        label=gettext_lazy("update existing members (profile only, never balances)"),
        required=False,
    )
    registration_bonus = forms.BooleanField(
        label=gettext_lazy("grant the registration bonus"),
        required=False,
        help_text=gettext_lazy(
            "Off by default: migrated members were already members. On: each new member gets "
            "the registration bonus in force today, once."
        ),
    )


def _progress_url(job):
    return reverse("admin:members_importjob_progress", args=[job.pk])


def _start(job):
    """Run small jobs now; hand big ones to Celery once the job row is committed."""
    if job.file.size <= inline_max_bytes():
        return run_import_job(job_id=job.pk)
    queue_job(job)  # a broker outage marks the job 排队失败, never fails this request
    return job


@admin.register(ImportJob)
class ImportJobAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = [
        "original_name", "state_shown", "dry_run", "progress", "rows_read", "imported",
        "updated", "rejected", "duplicates", "report_link", "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status"]
    readonly_fields = [
        "original_name", "state_shown", "dry_run", "update_existing", "registration_bonus",
        "progress", "heartbeat_shown", "rows_read",
        "imported", "updated", "rejected", "duplicates", "duration", "message", "report_link",
        "created_by", "created_at", "finished_at",
    ]  # fmt: skip
    fields = readonly_fields
    actions = ["confirm"]
    change_form_template = "admin/members/job_change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("created_by")
        if allowed_store_ids(request.user) is None:
            return queryset
        return queryset.filter(created_by=request.user)  # a store's staff see their own imports

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return request.user.has_perm("members.add_member")

    @admin.display(description=gettext_lazy("time taken"))
    def duration(self, obj):
        return format_duration(obj.seconds) if obj.finished_at else "-"

    def job_page_url(self, job):
        return _progress_url(job)

    def may_retry(self, request, job):
        return self.has_add_permission(request)

    def get_urls(self):
        return [
            path(
                "template/",
                self.admin_site.admin_view(self.template_view),
                name="members_importjob_template",
            ),
            path(
                "<int:job_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="members_importjob_confirm",
            ),
            path(
                "<int:job_id>/status/",
                self.admin_site.admin_view(partial(import_progress.status_view, self)),
                name="members_importjob_status",
            ),
            path(
                "<int:job_id>/progress/",
                self.admin_site.admin_view(partial(import_progress.progress_view, self)),
                name="members_importjob_progress",
            ),
            *self.job_urls(),
            *super().get_urls(),
        ]

    def template_view(self, request):
        response = excel.attachment("member-import-template.xlsx")
        write_template(response)
        return response

    def add_view(self, request, form_url="", extra_context=None):
        """Upload: the file is checked (dry run) and its per-row errors shown before importing."""
        if not self.has_add_permission(request):
            return self.changeform_view(request, None, form_url, extra_context)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = ImportJob.objects.create(
                file=upload,
                original_name=upload.name[:200],
                dry_run=True,
                update_existing=form.cleaned_data["update_existing"],
                registration_bonus=form.cleaned_data["registration_bonus"],
                created_by=request.user,
            )
            job = _start(job)
            if job.status == ImportJob.Status.PREVIEWED:
                return self._preview(request, job)
            if job.status == ImportJob.Status.FAILED:
                messages.error(request, job.message)
            else:
                messages.info(request, _("Large file: it is being checked in the background."))
                return HttpResponseRedirect(_progress_url(job))
            return HttpResponseRedirect(reverse("admin:members_importjob_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import members"),
            "form": form,
            "template_url": reverse("admin:members_importjob_template"),
        }
        return TemplateResponse(request, "admin/members/import_upload.html", context)

    def _preview(self, request, job):
        result = job.result
        problems = list(job.problems.order_by("row_no", "id")[:PREVIEW_ROWS])
        count = job.problems.count() if len(problems) == PREVIEW_ROWS else len(problems)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Check before importing"),
            "job": job,
            "summary": result.summary(),
            "headers": result.headers,
            "problems": problems,
            "more": max(count - PREVIEW_ROWS, 0),
            "confirm_url": reverse("admin:members_importjob_confirm", args=[job.pk]),
            "report_url": import_progress.report_url(job),
        }
        return TemplateResponse(request, "admin/members/import_preview.html", context)

    def confirm_view(self, request, job_id):
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:members_importjob_changelist"))
        job = _start(confirm_import_job(job_id=job.pk))
        if job.status == ImportJob.Status.DONE:
            messages.success(request, job.message)
        else:
            messages.info(request, _("The import is running in the background."))
            return HttpResponseRedirect(_progress_url(job))
        return HttpResponseRedirect(reverse("admin:members_importjob_changelist"))

    @admin.action(description=gettext_lazy("Import checked files for real"), permissions=["add"])
    def confirm(self, request, queryset):
        for job in queryset.filter(status=ImportJob.Status.PREVIEWED):
            _start(confirm_import_job(job_id=job.pk))
        messages.info(request, _("Import started."))
