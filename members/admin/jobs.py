"""Bulk jobs in the admin: each job's operation, filter, progress, counts and error report.
A job's page refreshes itself while the job runs."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.bulk import OPERATIONS
from members.models import BulkJob
from stores.access import allowed_store_ids


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = [
        "id", "operation", "status", "progress", "processed", "succeeded", "failed",
        "report_link", "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "kind"]
    readonly_fields = [
        "operation", "status", "progress", "total", "processed", "succeeded", "failed",
        "filter_shown", "params", "original_name", "message", "report_link", "attempts",
        "created_by", "created_at", "finished_at",
    ]  # fmt: skip
    fields = readonly_fields
    list_select_related = ["created_by"]
    change_form_template = "admin/members/bulkjob/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if allowed_store_ids(request.user) is None:
            return queryset
        return queryset.filter(created_by=request.user)  # store staff see their own jobs

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

    @admin.display(description=gettext_lazy("error report"))
    def report_link(self, obj):
        if not obj.report:
            return "-"
        return format_html('<a href="{}">{}</a>', obj.report.url, _("download"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        running = job is not None and job.status in (BulkJob.Status.PENDING, BulkJob.Status.RUNNING)
        extra_context = {**(extra_context or {}), "refresh": running}
        return super().change_view(request, object_id, form_url, extra_context)
