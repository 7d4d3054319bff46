from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One member import from the admin: the uploaded file, its progress, counts and report.

    A job commits chunk by chunk: `rows_done` is the last Excel row of the last committed
    chunk, and the counters are those of the committed chunks, so a job whose worker died can
    resume after that row (see members.importing.jobs: the reaper and the claim).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        # The broker was away when the job was to be queued (members/queueing.py): the reaper
        # queues it again, or the operator's 重试 does.
        UNQUEUED = "unqueued", _("Could not be queued")
        RUNNING = "running", _("Running")
        PREVIEWED = "previewed", _("Checked (dry run)")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="imports/members/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    update_existing = models.BooleanField(_("update existing members"), default=False)
    registration_bonus = models.BooleanField(
        _("grant the registration bonus"),
        default=False,
        help_text=_(
            "Migrated members were already members, so by default they get no sign-up bonus. "
            "Tick to grant the registration bonus in force on the import day, once per member."
        ),
    )
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    rows_done = models.PositiveIntegerField(
        _("rows done"), default=0, help_text=_("The last row of the last committed chunk.")
    )
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    queued_at = models.DateTimeField(
        _("last queued at"), null=True, blank=True,
        help_text=_("When the job was last handed to the broker."),
    )  # fmt: skip
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    message = models.TextField(_("message"), blank=True)
    report = models.FileField(
        _("error report"), upload_to="imports/members/reports/%Y/%m/", blank=True
    )
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
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The reaper looks for running jobs that stopped beating.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status="running"),
                name="importjob_running_heartbeat",
            )
        ]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"


class ImportProblem(models.Model):
    """A row an import did not take, with why and the cells as the file had them: written with
    the chunk it belongs to, so a big import keeps only its problem rows, and in the database,
    so a resumed job still has the problems of the chunks done before it stopped."""

    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="problems"
    )
    row_no = models.PositiveIntegerField(_("row"))
    reason = models.TextField(_("reason"))
    values = models.JSONField(_("values"), default=list)

    class Meta:
        verbose_name = _("import problem")
        verbose_name_plural = _("import problems")
        ordering = ["job", "row_no", "id"]
        indexes = [models.Index(fields=["job", "row_no"], name="importproblem_job_row")]

    def __str__(self):
        return f"{self.row_no}: {self.reason}"
