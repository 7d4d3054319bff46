"""Background jobs in the admin: bulk jobs (member actions over a filter, coupon issuing,
points from an Excel file) and, through the same mixin, member imports. Each job's page says
what happened to it: its status, 排队失败 when the broker was away, 可能已中断 when its worker
stopped beating (with the last heartbeat's age), and a 重试 button for a stuck job. A job's
page refreshes itself while the job is not finished."""

import os

from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.formatting import format_duration
from members.bulk import OPERATIONS
from members.models import BulkJob
from members.queueing import can_retry, heartbeat_age, job_state, send_job
from stores.access import allowed_store_ids


def heartbeat_text(job):
    age = heartbeat_age(job)
    if age is None:
        return "-"
    return _("%(age)s ago") % {"age": format_duration(age)}


class JobAdminMixin:
    """State, heartbeat, 重试 and the error report's download for a job model's admin.
    `job_page_url(job)` is the page the job is watched on."""

    def job_page_url(self, job):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[job.pk])

    def may_retry(self, request, job):
        return True

    @admin.display(description=gettext_lazy("state"), ordering="status")
    def state_shown(self, obj):
        return job_state(obj)[1]

    @admin.display(description=gettext_lazy("last heartbeat"))
    def heartbeat_shown(self, obj):
        return heartbeat_text(obj)

    @admin.display(description=gettext_lazy("error report"))
    def report_link(self, obj):
        if not obj.report:
            return "-"
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def job_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:job_id>/retry/", self.admin_site.admin_view(self.retry_view),
                 name=f"{name}_retry"),
            path("<int:job_id>/report/", self.admin_site.admin_view(self.report_view),
                 name=f"{name}_report"),
        ]  # fmt: skip

    def retry_url(self, request, job):
        if not can_retry(job) or not self.may_retry(request, job):
            return None
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_retry", args=[job.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        Status = self.model.Status
        unfinished = job is not None and job.status in (
            Status.PENDING, Status.UNQUEUED, Status.RUNNING,
        )  # fmt: skip
        extra_context = {
            **(extra_context or {}),
            "refresh": unfinished,
            "retry_url": self.retry_url(request, job) if job is not None else None,
            "job_state": job_state(job) if job is not None else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def retry_view(self, request, job_id):
        """POST: queue a stuck job again. The claim of the job row decides who runs it, so a
        second press, or the reaper doing the same meanwhile, still runs it once."""
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if request.method != "POST" or not self.may_retry(request, job):
            return HttpResponseRedirect(self.job_page_url(job))
        if not can_retry(job):
            messages.info(request, _("The job is not stuck: there is nothing to retry."))
        elif send_job(type(job), job.pk):
            messages.success(request, _("Queued again: a worker takes it up shortly."))
        else:
            messages.error(
                request,
                _("Still could not be queued: the message broker (Redis) is not reachable. "
                  "It is retried automatically every minute."),
            )  # fmt: skip
        return HttpResponseRedirect(self.job_page_url(job))

    def report_view(self, request, job_id):
        """The error report, to whoever may see the job (never a public media URL: it holds
        members' phones and names)."""
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not job.report:
            raise Http404
        return FileResponse(
            job.report.open("rb"), as_attachment=True, filename=os.path.basename(job.report.name)
        )


@admin.register(BulkJob)
class BulkJobAdmin(JobAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "operation", "state_shown", "progress", "processed", "succeeded", "failed",
        "report_link", "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "kind"]
    readonly_fields = [
        "operation", "state_shown", "progress", "heartbeat_shown", "total", "processed",
        "succeeded", "failed", "filter_shown", "params", "original_name", "message",
        "report_link", "attempts", "created_by", "created_at", "finished_at",
    ]  # fmt: skip
    fields = readonly_fields
    list_select_related = ["created_by"]
    change_form_template = "admin/members/job_change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if allowed_store_ids(request.user) is None:
            return queryset
        return queryset.filter(created_by=request.user)  # store staff see their own jobs

    def get_urls(self):
        return [*self.job_urls(), *super().get_urls()]

    def has_add_permission(self, request):
        return False  # started from the member list's actions or an upload

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("operation"), ordering="kind")
    def operation(self, obj):
        operation = OPERATIONS.get(obj.kind)
        return operation.label if operation else obj.kind

    @admin.display(description=gettext_lazy("member filter"))
    def filter_shown(self, obj):
        return obj.filter or (_("every member") if not obj.file else "-")

