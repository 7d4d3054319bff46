from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stores.models import Source


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Member(models.Model):
    """A member of the chain. Balances are not here: see PointsAccount and Wallet."""

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        UNKNOWN = "U", _("Unknown")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        TILL = "till", _("Till")
        IMPORT = "import", _("Import")
        BATCH = "batch", _("Card batch")

    member_no = models.CharField(_("member no"), max_length=20, unique=True)
    phone = models.CharField(_("mobile phone"), max_length=11, unique=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    home_store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("home store"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    tier = models.ForeignKey(
        "loyalty.Tier",
        verbose_name=_("tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    referrer = models.ForeignKey(
        "self",
        verbose_name=_("referrer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_members",
    )
    commission_staff = models.ForeignKey(
        "stores.Staff",
        verbose_name=_("commission staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(
        _("opened through"), max_length=10, choices=Source.choices, default=Source.ADMIN
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        permissions = [("view_full_phone", _("Can see full phone numbers"))]
        indexes = [
            models.Index(fields=["home_store", "opened_at"]),
            models.Index(fields=["last_visit_at"]),
        ]

    def __str__(self):
        return f"{self.member_no} {self.name}".strip()

    @property
    def masked_phone(self):
        return mask_phone(self.phone)


def mask_phone(phone):
    """138****5678: what staff without the "view full phone" permission see."""
    if not phone or len(phone) < 7:
        return phone
    return f"{phone[:3]}****{phone[-4:]}"


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
