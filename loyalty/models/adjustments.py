from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import MakerChecker


class PointsAdjustment(MakerChecker):
    """A manual adjustment (积分调整). Above the approval threshold (counted over the day's
    adjustments of the same member by the same person) it waits for a second head-office
    user; the points move only when it is posted."""

    class ReasonCategory(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint compensation")
        CORRECTION = "correction", _("Correction")
        CAMPAIGN = "campaign", _("Campaign")
        OTHER = "other", _("Other")

    Status = MakerChecker.Status

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="points_adjustments",
    )
    points = models.IntegerField(_("points"), help_text=_("Signed: negative takes points."))
    reason_category = models.CharField(
        _("reason category"), max_length=12, choices=ReasonCategory.choices
    )
    entry = models.OneToOneField(
        "loyalty.PointsEntry",
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustment",
    )
    # One per submitted form (a double click, a resubmitted page): the first adjustment wins.
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("points adjustment")
        verbose_name_plural = _("points adjustments")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_adjustment", _("Can approve large points adjustments"))]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="adjustment_pending",
            )
        ]

    def __str__(self):
        return f"{self.member} {self.points:+d}"
