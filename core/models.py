"""What every app's models share: where a change came from, and the who/where/why of a ledger
entry. Abstract only: core has no tables."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Where a change came from; every service records it next to the acting user."""

    ADMIN = "admin", _("Admin")
    TILL = "till", _("Till")
    IMPORT = "import", _("Import")
    TASK = "task", _("Background job")
    COMMAND = "command", _("Command")


class LedgerEntryBase(models.Model):
    """Where, through which till, by whom, from which channel and why a ledger entry was made.

    Shared by the points, stored-value and count-card ledgers so every movement answers the
    auditor's questions the same way.
    """

    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    terminal = models.ForeignKey(
        "stores.Terminal",
        verbose_name=_("till"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # Makes a retried write a no-op: the writer returns the entry that already has this key.
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)

    class Meta:
        abstract = True


class MakerChecker(models.Model):
    """A change one person asks for and, above a threshold, a second person approves before it
    takes effect (points and stored-value adjustments): who asked, who decided, when, why."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        POSTED = "posted", _("Posted")
        REJECTED = "rejected", _("Rejected")

    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)

    class Meta:
        abstract = True


class HistorySource(models.Model):
    """Where a change in a model's history (django-simple-history) came from: with the history's
    user (who) and change reason (why), every change of a member or a rule says who, where and
    why. See core.history.note()."""

    history_source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, blank=True
    )

    class Meta:
        abstract = True
