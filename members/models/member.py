from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
