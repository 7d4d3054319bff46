from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BulkJob(models.Model):
    """One bulk operation over members, run in the background chunk by chunk: an admin action
    on a filter of the member list (change tier, tag, freeze, adjust points, later issue
    coupons), or points awarded to the members listed in an uploaded Excel file.

    The members are named by the member list's filter (`filter`, its query string), never by
    a list of ids: the job finds them again, a chunk at a time by id. Each chunk commits with
    the job's counters and its resume point (`last_member_id` / `rows_done`), so a worker
    killed halfway leaves a job the reaper resumes, and nothing is done twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        # The broker was away when the job was to be queued (members/queueing.py): the reaper
        # queues it again, or the operator's 重试 does.
        UNQUEUED = "unqueued", _("Could not be queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("operation"), max_length=30)
    filter = models.TextField(
        _("member filter"), blank=True, help_text=_("The member list's filter and search.")
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    file = models.FileField(_("file"), upload_to="bulk/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    total = models.PositiveIntegerField(_("members or rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    succeeded = models.PositiveIntegerField(_("done"), default=0)
    failed = models.PositiveIntegerField(_("refused"), default=0)
    last_member_id = models.BigIntegerField(_("last member done"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    queued_at = models.DateTimeField(
        _("last queued at"), null=True, blank=True,
        help_text=_("When the job was last handed to the broker."),
    )  # fmt: skip
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    message = models.TextField(_("message"), blank=True)
    report = models.FileField(_("error report"), upload_to="bulk/reports/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status="running"),
                name="bulkjob_running_heartbeat",
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} ({self.get_status_display()})"


class BulkJobProblem(models.Model):
    """A member or a file row a bulk job could not do, with why (kept with its chunk)."""

    job = models.ForeignKey(
        BulkJob, verbose_name=_("bulk job"), on_delete=models.CASCADE, related_name="problems"
    )
    row_no = models.PositiveIntegerField(_("row"), default=0)
    reason = models.TextField(_("reason"))
    values = models.JSONField(_("values"), default=list)

    class Meta:
        verbose_name = _("bulk job problem")
        verbose_name_plural = _("bulk job problems")
        ordering = ["job", "row_no", "id"]
        indexes = [models.Index(fields=["job", "row_no"], name="bulkjobproblem_job_row")]

    def __str__(self):
        return f"{self.row_no}: {self.reason}"
