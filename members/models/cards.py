from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .member import Member

CARD_NO_LENGTH = 16


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit for `digits` (what bank cards use): catches one mistyped digit and
    most swapped neighbours when a cashier keys a card number in."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: the rightmost payload digit sits next to the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_card_no(card_no: str) -> bool:
    return (
        bool(card_no)
        and card_no.isdigit()
        and len(card_no) >= 2
        and luhn_check_digit(card_no[:-1]) == card_no[-1]
    )


def make_card_no(prefix: str, serial: int) -> str:
    """prefix + zero-padded serial + Luhn digit, CARD_NO_LENGTH digits in all."""
    width = CARD_NO_LENGTH - 1 - len(prefix)
    payload = f"{prefix}{serial:0{width}d}"
    return payload + luhn_check_digit(payload)


class CardBatch(models.Model):
    """A run of pre-printed cards (批量开卡). Members opened with one of its cards start with
    the batch's initial tier, points and stored value unless the opening says otherwise."""

    prefix = models.CharField(
        _("prefix"), max_length=8, help_text=_("Digits every card number in the batch starts with.")
    )
    count = models.PositiveIntegerField(_("number of cards"))
    first_serial = models.PositiveBigIntegerField(_("first serial"))
    initial_tier = models.ForeignKey(
        "members.Tier",
        verbose_name=_("initial tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    initial_points = models.PositiveIntegerField(_("initial points"), default=0)
    initial_stored_value = models.DecimalField(
        _("initial stored value"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("card batch")
        verbose_name_plural = _("card batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(initial_stored_value__gte=0),
                name="cardbatch_stored_value_gte_0",
                violation_error_message=_("The initial stored value cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.prefix} ×{self.count}"


class Card(models.Model):
    """A member card. A member holds at most one active card; a lost card stays on record."""

    class Status(models.TextChoices):
        UNISSUED = "unissued", _("Unissued")
        ACTIVE = "active", _("Active")
        LOST = "lost", pgettext_lazy("card status", "Lost")  # 已挂失 (a member is 流失)
        VOID = "void", _("Void")

    card_no = models.CharField(_("card no"), max_length=20, unique=True)
    batch = models.ForeignKey(
        CardBatch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cards",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UNISSUED
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cards",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("member card")
        verbose_name_plural = _("member cards")
        ordering = ["card_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="active"), name="card_one_active_per_member"
            ),
            models.CheckConstraint(
                condition=Q(status="unissued", member__isnull=True)
                | (~Q(status="unissued") & Q(member__isnull=False))
                | Q(status="void"),
                name="card_member_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["member", "status"], name="card_member_status")]

    def __str__(self):
        return self.card_no
