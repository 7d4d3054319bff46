from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import HistorySource, LedgerEntryBase, MakerChecker, Source


class Wallet(models.Model):
    """A member's stored value (储值), money the chain owes the member.

    Principal (what the member paid) and bonus (what a recharge plan gave) are kept apart:
    payments draw both in proportion, a withdrawal returns principal only. Changed only by
    `wallet.ledger.post_wallet_entry`, under a row lock.
    """

    member = models.OneToOneField(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="wallet"
    )
    principal = models.DecimalField(
        _("principal"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    bonus = models.DecimalField(
        _("bonus"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "members_wallet"  # created in members; kept when it moved
        verbose_name = _("stored-value wallet")
        verbose_name_plural = _("stored-value wallets")
        constraints = [
            # Backstop: services already refuse to overdraw; the database refuses too.
            models.CheckConstraint(condition=Q(principal__gte=0), name="wallet_principal_gte_0"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="wallet_bonus_gte_0"),
        ]

    def __str__(self):
        return f"{self.member} ¥{self.balance}"

    @property
    def balance(self):
        return self.principal + self.bonus


class WalletEntry(LedgerEntryBase):
    """One movement of stored value. Append-only: a correction is a new entry."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opening balance")
        RECHARGE = "recharge", _("Recharge")
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        ADJUSTMENT = "adjustment", _("Adjustment")
        BONUS_FORFEIT = "bonus_forfeit", _("Bonus forfeited")

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    principal = models.DecimalField(_("principal change"), max_digits=12, decimal_places=2)
    bonus = models.DecimalField(_("bonus change"), max_digits=12, decimal_places=2)
    principal_after = models.DecimalField(_("principal after"), max_digits=12, decimal_places=2)
    bonus_after = models.DecimalField(_("bonus after"), max_digits=12, decimal_places=2)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Receipt no, refund no, recharge no or import row."),
    )
    plan = models.ForeignKey(
        "wallet.RechargePlan",
        verbose_name=_("recharge plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A refund names the payment it gives back, so refunds can never return more than it took.
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        db_table = "members_walletentry"  # created in members; kept when it moved
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["wallet", "created_at"]),
            # Reports: recharges and spend by day and store.
            models.Index(fields=["store", "kind", "created_at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ¥{self.amount}"

    @property
    def amount(self):
        return self.principal + self.bonus


class RechargePlan(models.Model):
    """A recharge offer shown at the till: pay X, get Y bonus (充500送50) or N points.

    A recharge of at least `pay_amount` under the plan gets the bonus and points once (not per
    multiple of X). No stores listed means every store.
    """

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    pay_amount = models.DecimalField(
        _("recharge amount"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The least the member pays in to get this plan's bonus."),
    )
    bonus_amount = models.DecimalField(
        _("bonus stored value"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    starts_at = models.DateTimeField(_("valid from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("valid until"), null=True, blank=True)
    stores = models.ManyToManyField(
        "stores.Store",
        verbose_name=_("stores"),
        blank=True,
        related_name="+",
        help_text=_("Leave empty for every store."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource], m2m_fields=["stores"])

    class Meta:
        db_table = "members_rechargeplan"  # created in members; kept when it moved
        verbose_name = _("recharge plan")
        verbose_name_plural = _("recharge plans")
        ordering = ["pay_amount", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pay_amount__gt=0),
                name="rechargeplan_pay_gt_0",
                violation_error_message=_("The recharge amount must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(bonus_amount__gte=0),
                name="rechargeplan_bonus_gte_0",
                violation_error_message=_("The bonus cannot be negative."),
            ),
        ]

    def __str__(self):
        return self.name


class WithdrawalRequest(models.Model):
    """A member asks for stored value back in cash (余额提现).

    Only principal is paid out; the bonus that came with it is forfeited. A second head-office
    user (holding `approve_withdrawal`, not the requester) approves before money moves.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved and paid")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("principal to pay out"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200)
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    entry = models.ForeignKey(
        WalletEntry,
        verbose_name=_("withdrawal entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    forfeit_entry = models.ForeignKey(
        WalletEntry,
        verbose_name=_("forfeit entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)

    class Meta:
        db_table = "members_withdrawalrequest"  # created in members; kept when it moved
        verbose_name = _("withdrawal request")
        verbose_name_plural = _("withdrawal requests")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_withdrawal", _("Can approve stored-value withdrawals"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self):
        return f"{self.member} ¥{self.amount} ({self.get_status_display()})"


class Transfer(models.Model):
    """Stored value moved from one member to another (余额转账): both entries, one transaction."""

    from_member = models.ForeignKey(
        "members.Member", verbose_name=_("from member"), on_delete=models.PROTECT, related_name="+"
    )
    to_member = models.ForeignKey(
        "members.Member", verbose_name=_("to member"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    out_entry = models.OneToOneField(
        WalletEntry,
        verbose_name=_("transfer-out entry"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    in_entry = models.OneToOneField(
        WalletEntry,
        verbose_name=_("transfer-in entry"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
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
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        db_table = "members_transfer"  # created in members; kept when it moved
        verbose_name = _("stored-value transfer")
        verbose_name_plural = _("stored-value transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(from_member=models.F("to_member")), name="transfer_not_to_self"
            ),
        ]

    def __str__(self):
        return f"{self.from_member} → {self.to_member} ¥{self.amount}"


class StoredValueAdjustment(MakerChecker):
    """A correction of a member's stored value by hand (储值调整), signed principal and bonus.
    Like points adjustments, above the approval threshold (counted over the day's adjustments
    of the same member by the same person) it waits for a second head-office user."""

    Status = MakerChecker.Status

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="stored_value_adjustments",
    )
    # Signed; one correction moves at most a million yuan either way (a typo's bound).
    principal = models.DecimalField(
        _("principal change"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[
            MinValueValidator(Decimal("-1000000")),
            MaxValueValidator(Decimal("1000000")),
        ],
    )
    bonus = models.DecimalField(
        _("bonus change"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[
            MinValueValidator(Decimal("-1000000")),
            MaxValueValidator(Decimal("1000000")),
        ],
    )
    entry = models.OneToOneField(
        WalletEntry,
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustment",
    )
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("stored-value adjustment")
        verbose_name_plural = _("stored-value adjustments")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_storedvalueadjustment", _("Can approve large stored-value adjustments"))
        ]
        indexes = [
            models.Index(
                fields=["member", "created_at"], name="svadjustment_member_day"
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="svadjustment_pending",
            ),
        ]

    def __str__(self):
        return f"{self.member} ¥{self.principal + self.bonus:+}"
