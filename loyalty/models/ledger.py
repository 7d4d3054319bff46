from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import LedgerEntryBase


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
    # The referral bonus was paid on this member's qualifying sale (and not taken back since):
    # later sales skip the referral rules without a query.
    referral_paid = models.BooleanField(
        _("referral bonus paid"), default=False, db_default=False
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
        COUPON = "coupon", _("Exchanged for a coupon")
        EARN_REVERSAL = "earn_reversal", _("Refund: earned points taken back")
        REDEEM_REVERSAL = "redeem_reversal", _("Refund: spent points given back")
        BONUS_REVERSAL = "bonus_reversal", _("Refund: bonus taken back")
        EXPIRE = "expire", _("Expired")

    # The ledger's busiest writers (checkout, nightly expiry) pay for every index of this
    # table on every row: no index that another one already covers. The account and the store
    # are the first columns of (account, created_at) and (store, created_at); a till, an
    # operator or a reversal is named by few entries (partial indexes); the key is unique
    # through a constraint (a unique field would add a second, LIKE-only index).
    account = models.ForeignKey(
        PointsAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    terminal = models.ForeignKey(
        "stores.Terminal",
        verbose_name=_("till"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Receipt no, refund no, import row, rule or job."),
    )
    # Where an entry came from is its (source, reference, key); a sale or refund names the
    # entries it produced (sales sit above loyalty, so the link points from there to here).
    # A spend given back names the spend, so its lots are restored exactly.
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        db_index=False,
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["key"], name="pointsentry_unique_key")]
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["store", "created_at"]),
            models.Index(
                fields=["terminal"],
                name="pointsentry_terminal",
                condition=Q(terminal__isnull=False),
            ),
            models.Index(
                fields=["actor"], name="pointsentry_actor", condition=Q(actor__isnull=False)
            ),
            models.Index(
                fields=["reverses"],
                name="pointsentry_reverses",
                condition=Q(reverses__isnull=False),
            ),
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


class TierProgress(models.Model):
    """What counts towards a tier, per member and calendar month (Shanghai time): qualifying
    spend and points earned on sales, refunds taken off in the month they happen.

    Lifetime progress is the account's own counters; a rolling window ("the last 12 months")
    is the sum of this month and the 11 before it. Kept by `loyalty.ledger` at every sale and
    refund, never the spendable balance, so spending or expiring points demotes nobody.
    """

    account = models.ForeignKey(
        PointsAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="progress",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    spend = models.DecimalField(
        _("qualifying spend"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    points = models.IntegerField(_("points earned on sales"), default=0)

    class Meta:
        verbose_name = _("tier progress")
        verbose_name_plural = _("tier progress")
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="tierprogress_unique_month")
        ]

    def __str__(self):
        return f"{self.account_id} {self.month:%Y-%m}: ¥{self.spend}, {self.points}"
