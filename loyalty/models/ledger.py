from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stores.models import LedgerEntryBase


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
        help_text=_("Points earned by the amount rules are multiplied by this (1.50 = +50%)."),
    )
    upgrade_spend = models.DecimalField(
        _("upgrade at spend (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
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
        help_text=_(
            "The monthly review downgrades members whose spend in the last 12 months is "
            "below this (and below the points rule, if set). Empty on both: never downgraded."
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
        help_text=_(
            "Discount the till gives members of this tier, e.g. 5.00 for five percent off."
        ),
    )
    birthday_bonus = models.PositiveIntegerField(
        _("birthday bonus points"), default=0, help_text=_("Paid once a year on the birthday.")
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="tier_single_default"
            ),
        ]

    def __str__(self):
        return self.name

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


class PointsAccount(models.Model):
    """A member's points balance. Changed only by `loyalty.ledger.post_points_entry`.

    The balance may go below zero only when a refund takes back points already spent; the
    next earnings pay that debt first.
    """

    member = models.OneToOneField(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="points_account",
    )
    balance = models.IntegerField(_("points balance"), default=0)
    lifetime_earned = models.PositiveIntegerField(_("points earned (lifetime)"), default=0)
    lifetime_redeemed = models.PositiveIntegerField(_("points spent (lifetime)"), default=0)
    lifetime_expired = models.PositiveIntegerField(_("points expired (lifetime)"), default=0)
    # Tier progress: what counts towards a tier, never the spendable balance, so spending or
    # expiring points cannot demote anyone. db_default so set-based inserts need not name them.
    qualifying_spend = models.DecimalField(
        _("qualifying spend (lifetime)"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
    )
    qualifying_points = models.IntegerField(
        _("points earned on sales (lifetime)"), default=0, db_default=0
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        indexes = [
            models.Index(
                fields=["balance"], name="pointsaccount_negative", condition=Q(balance__lt=0)
            )
        ]

    def __str__(self):
        return f"{self.member}: {self.balance}"

    @property
    def in_debt(self):
        """A refund took back points already spent: flagged until later earnings pay it."""
        return self.balance < 0


class PointsEntry(LedgerEntryBase):
    """One movement of points. Append-only: a correction is a new entry."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opening balance")
        EARN = "earn", _("Earned on a sale")
        BONUS = "bonus", _("Bonus")
        ADJUST = "adjust", _("Manual adjustment")
        REDEEM = "redeem", _("Offset at the till")
        GIFT = "gift", _("Gift redemption")
        EARN_REVERSAL = "earn_reversal", _("Refund: earned points taken back")
        REDEEM_REVERSAL = "redeem_reversal", _("Refund: spent points given back")
        EXPIRE = "expire", _("Expired")

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Receipt no, refund no, import row, rule or job."),
    )
    sale = models.ForeignKey(
        "loyalty.Sale",
        verbose_name=_("sale"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_entries",
    )
    refund = models.ForeignKey(
        "loyalty.Refund",
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_entries",
    )
    # A spend given back names the spend, so its lots are restored exactly.
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["store", "created_at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points:+d}"


class PointsLot(models.Model):
    """Points that arrived together and expire together; spending takes what expires first."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="lots"
    )
    entry = models.ForeignKey(
        PointsEntry, verbose_name=_("from entry"), on_delete=models.PROTECT, related_name="lots"
    )
    points = models.PositiveIntegerField(_("points"))
    remaining = models.PositiveIntegerField(_("remaining"))
    earned_at = models.DateTimeField(_("earned at"))
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: never expires.")
    )

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=models.F("points")), name="lot_remaining_lte_points"
            ),
        ]
        indexes = [
            # Spending, expiry and the expiring-soon list only ever look at lots with points left.
            models.Index(
                fields=["account", "expires_at"],
                condition=Q(remaining__gt=0),
                name="lot_open_by_expiry",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(remaining__gt=0), name="lot_open_expires_at"
            ),
        ]

    def __str__(self):
        return f"{self.remaining}/{self.points}"


class LotConsumption(models.Model):
    """Which lots a negative entry took points from (positive `points`), or which lots a
    reversal gave them back to (negative `points`). Append-only."""

    entry = models.ForeignKey(
        PointsEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="consumptions"
    )
    lot = models.ForeignKey(
        PointsLot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="consumptions"
    )
    points = models.IntegerField(_("points"))

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")

    def __str__(self):
        return f"{self.lot_id}: {self.points:+d}"
