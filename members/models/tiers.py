"""Tiers (会员等级): the member's level, its upgrade and retention thresholds and benefits, and
the history of every change of a member's tier."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import HistorySource, Source


class Tier(models.Model):
    """A membership tier (会员等级). Higher rank is better."""

    class ThresholdLogic(models.TextChoices):
        ANY = "any", _("Either threshold reached")
        ALL = "all", _("Every threshold set reached")

    class Window(models.TextChoices):
        LIFETIME = "lifetime", _("Lifetime")
        ROLLING = "rolling12", _("Rolling 12 months")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=30)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher rank is a better tier.")
    )
    is_default = models.BooleanField(
        _("default tier"), default=False, help_text=_("New members start in this tier.")
    )
    points_multiplier = models.DecimalField(
        _("points multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10"))],
        help_text=_("Points earned by the amount rules are multiplied by this (1.50 = +50%)."),
    )
    upgrade_spend = models.DecimalField(
        _("upgrade at spend (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Qualifying spend that reaches this tier. Empty: spend does not count."),
    )
    upgrade_points = models.PositiveIntegerField(
        _("upgrade at points earned"),
        null=True,
        blank=True,
        help_text=_("Points earned on sales that reach this tier. Empty: points do not count."),
    )
    threshold_logic = models.CharField(
        _("thresholds combine"),
        max_length=3,
        choices=ThresholdLogic.choices,
        default=ThresholdLogic.ANY,
    )
    window = models.CharField(
        _("counted over"),
        max_length=10,
        choices=Window.choices,
        default=Window.LIFETIME,
        help_text=_("Count spend and points over the member's whole life or the last 12 months."),
    )
    retain_spend = models.DecimalField(
        _("keep tier at spend (12 months)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Only for tiers counted over the last 12 months. The monthly review moves members "
            "whose spend in the last 12 months is below this (and below the points rule, if "
            "set) one tier down. Empty on both: never downgraded."
        ),
    )
    retain_points = models.PositiveIntegerField(
        _("keep tier at points earned (12 months)"), null=True, blank=True
    )
    discount_percent = models.DecimalField(
        _("member discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_(
            "Discount the till gives members of this tier, e.g. 5.00 for five percent off."
        ),
    )
    birthday_bonus = models.PositiveIntegerField(
        _("birthday bonus points"), default=0, help_text=_("Paid once a year on the birthday.")
    )

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        db_table = "loyalty_tier"  # the table it was created in, before it moved to members
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="tier_single_default",
                violation_error_message=_("Another tier is already the default tier."),
            ),
            # Backstops for what the field validators already refuse in every form.
            models.CheckConstraint(
                condition=Q(upgrade_spend__gte=0) & Q(retain_spend__gte=0),
                name="tier_spend_thresholds_gte_0",
                violation_error_message=_("Spend thresholds cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="tier_discount_0_to_100",
                violation_error_message=_("The member discount is between 0 and 100 percent."),
            ),
            models.CheckConstraint(
                condition=Q(points_multiplier__gte=0),
                name="tier_multiplier_gte_0",
                violation_error_message=_("The points multiplier cannot be negative."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # Retention is reviewed over the last 12 months; a tier counted over a lifetime is
        # never lost (its progress only grows), so a retention threshold there would drop a
        # member whom the next sale puts straight back.
        has_retention = self.retain_spend is not None or self.retain_points is not None
        if has_retention and self.window != self.Window.ROLLING:
            raise ValidationError(
                {
                    "retain_spend": _(
                        "Retention thresholds apply only to tiers counted over the last 12 "
                        "months: choose that window, or leave them empty."
                    )
                }
            )

    @property
    def retained_over_rolling_window(self):
        """Whether the monthly review checks this tier (see clean)."""
        return self.window == self.Window.ROLLING and (
            self.retain_spend is not None or self.retain_points is not None
        )

    @property
    def has_upgrade_rule(self):
        return self.upgrade_spend is not None or self.upgrade_points is not None

    def reached_by(self, spend, points):
        """Whether qualifying `spend` (yuan) and `points` reach this tier."""
        checks = []
        if self.upgrade_spend is not None:
            checks.append(spend >= self.upgrade_spend)
        if self.upgrade_points is not None:
            checks.append(points >= self.upgrade_points)
        if not checks:
            return False
        return all(checks) if self.threshold_logic == self.ThresholdLogic.ALL else any(checks)

    def retained_by(self, spend, points):
        """Whether 12-month `spend` and `points` keep this tier (no retention rule: kept)."""
        checks = []
        if self.retain_spend is not None:
            checks.append(spend >= self.retain_spend)
        if self.retain_points is not None:
            checks.append(points >= self.retain_points)
        return not checks or any(checks)


class TierChange(models.Model):
    """Every change of a member's tier, with why. Append-only."""

    class Reason(models.TextChoices):
        UPGRADE = "upgrade", _("Upgrade on a sale")
        DOWNGRADE = "downgrade", _("Downgrade by review")
        MANUAL = "manual", _("Changed by hand")

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="tier_changes",
    )
    from_tier = models.ForeignKey(
        "members.Tier",
        verbose_name=_("from tier"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    to_tier = models.ForeignKey(
        "members.Tier", verbose_name=_("to tier"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    detail = models.CharField(_("why"), max_length=200)
    # What caused it: the store and receipt of the sale that crossed a threshold, the review
    # month, an import row. A name, not a foreign key: sales sit above members.
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=100, null=True, unique=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        db_table = "loyalty_tierchange"  # the table it was created in, before it moved here
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self):
        return f"{self.member}: {self.from_tier} → {self.to_tier}"
