from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stores.models import Source

from .member import Member


class Wallet(models.Model):
    """A member's stored value (储值), money the chain owes the member.

    Principal (what the member paid) and bonus (what a recharge plan gave) are kept apart:
    payments draw both in proportion, a withdrawal returns principal only. Changed only by
    `members.ledger.post_wallet_entry`, under a row lock.
    """

    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="wallet"
    )
    principal = models.DecimalField(
        _("principal"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    bonus = models.DecimalField(
        _("bonus"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
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


class WalletEntry(models.Model):
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

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    principal = models.DecimalField(_("principal change"), max_digits=12, decimal_places=2)
    bonus = models.DecimalField(_("bonus change"), max_digits=12, decimal_places=2)
    principal_after = models.DecimalField(_("principal after"), max_digits=12, decimal_places=2)
    bonus_after = models.DecimalField(_("bonus after"), max_digits=12, decimal_places=2)
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
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Receipt no, refund no, recharge no or import row."),
    )
    # Makes a retried write a no-op: the writer returns the entry that already has this key.
    key = models.CharField(_("idempotency key"), max_length=150, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value ledger")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["wallet", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} ¥{self.amount}"

    @property
    def amount(self):
        return self.principal + self.bonus
