from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import HistorySource, Source


class Gift(models.Model):
    """A gift members take for points (积分兑换礼品)."""

    code = models.CharField(_("gift code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    points = models.PositiveIntegerField(_("points each"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gift catalogue")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.points})"


class GiftStock(models.Model):
    """How many of a gift one store holds. Taken by a conditional UPDATE, never read-then-save."""

    gift = models.ForeignKey(
        Gift, verbose_name=_("gift"), on_delete=models.PROTECT, related_name="stock"
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("in stock"), default=0)

    class Meta:
        verbose_name = _("gift stock")
        verbose_name_plural = _("gift stock")
        constraints = [
            models.UniqueConstraint(fields=["gift", "store"], name="giftstock_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0),
                name="giftstock_gte_0",
                violation_error_message=_("Stock cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.gift.code}@{self.store.code}: {self.quantity}"


class GiftRedemption(models.Model):
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), on_delete=models.PROTECT)
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    terminal = models.ForeignKey(
        "stores.Terminal",
        verbose_name=_("till"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    qty = models.PositiveIntegerField(_("quantity"))
    points_spent = models.PositiveIntegerField(_("points spent"))
    entry = models.OneToOneField(
        "loyalty.PointsEntry",
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        related_name="gift_redemption",
    )
    key = models.CharField(_("idempotency key"), max_length=150, null=True, unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("gift redemption")
        verbose_name_plural = _("gift redemptions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.gift.name} × {self.qty}"
