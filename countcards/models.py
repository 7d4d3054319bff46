"""Count cards (次卡): a package of visits a member buys, uses one by one and renews (续次)."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import HistorySource, LedgerEntryBase


class CountCardPackage(models.Model):
    """What a store sells: e.g. 洗车10次卡, 10 visits for ¥300, valid 365 days."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    visits = models.PositiveIntegerField(
        _("visits"), validators=[MinValueValidator(1), MaxValueValidator(10_000)]
    )
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    valid_days = models.PositiveIntegerField(
        _("valid days"),
        validators=[MinValueValidator(1), MaxValueValidator(36_500)],
        help_text=_("Days from sale (or renewal) until unused visits expire."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        db_table = "members_countcardpackage"  # created in members; kept when it moved
        verbose_name = _("count-card package")
        verbose_name_plural = _("count-card packages")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visits__gt=0),
                name="countcardpackage_visits_gt_0",
                violation_error_message=_("A package has at least one visit."),
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="countcardpackage_price_gte_0",
                violation_error_message=_("The price cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(valid_days__gt=0),
                name="countcardpackage_days_gt_0",
                violation_error_message=_("A package is valid for at least one day."),
            ),
        ]

    def __str__(self):
        return self.name


class MemberCountCard(models.Model):
    """A member's count card: visits left and expiry.

    `visits_left` and `expires_at` change only through `countcards.ledger.post_count_card_entry`,
    under a row lock, with a CountCardEntry for every change.
    """

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="count_cards",
    )
    package = models.ForeignKey(
        CountCardPackage, verbose_name=_("package"), on_delete=models.PROTECT, related_name="+"
    )
    visits_left = models.IntegerField(_("visits left"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("sold at"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sold at (time)"), default=timezone.now)

    class Meta:
        db_table = "members_membercountcard"  # created in members; kept when it moved
        verbose_name = _("member count card")
        verbose_name_plural = _("member count cards")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Backstop: the writer refuses to use a visit that is not there; so does the database.
            models.CheckConstraint(condition=Q(visits_left__gte=0), name="countcard_visits_gte_0"),
        ]
        indexes = [
            # The expiry job: cards past their date that still hold visits.
            models.Index(
                fields=["expires_at"], name="countcard_open_expiry", condition=Q(visits_left__gt=0)
            ),
        ]

    def __str__(self):
        return f"{self.package} ({self.visits_left})"

    def is_usable(self, at=None):
        return self.visits_left > 0 and self.expires_at > (at or timezone.now())


class CountCardEntry(LedgerEntryBase):
    """One change to a count card. Append-only: a correction is a new entry."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Sold")
        USE = "use", _("Visit used")
        RENEW = "renew", _("Renewed")
        EXPIRE = "expire", _("Expired")
        ADJUSTMENT = "adjustment", _("Adjustment")

    card = models.ForeignKey(
        MemberCountCard,
        verbose_name=_("count card"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    visits = models.IntegerField(_("visits change"))
    visits_after = models.IntegerField(_("visits after"))
    expires_after = models.DateTimeField(_("expiry after"))
    amount = models.DecimalField(
        _("amount paid"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    wallet_entry = models.ForeignKey(
        "wallet.WalletEntry",
        verbose_name=_("paid from stored value"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        db_table = "members_countcardentry"  # created in members; kept when it moved
        verbose_name = _("count-card entry")
        verbose_name_plural = _("count-card ledger")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.visits:+d}"
