from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class Region(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Store(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct")
        FRANCHISE = "franchise", _("Franchise")

    code = models.CharField(_("store code"), max_length=20, unique=True, help_text=_("e.g. SH001"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DIRECT)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, null=True, blank=True
    )
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]
        permissions = [
            ("view_all_stores", _("Can see and change every store's data (head office)")),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Staff(models.Model):
    class Role(models.TextChoices):
        CASHIER = "cashier", _("Cashier")
        MANAGER = "manager", _("Store manager")
        GUIDE = "guide", _("Shopping guide")

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT)
    employee_no = models.CharField(_("employee no"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.CASHIER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_roles",
        help_text=_(
            "Links a back-office login to this store: the user then sees this store's data."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["store__code", "employee_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "employee_no"], name="staff_unique_employee_no"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.employee_no})"


class Terminal(models.Model):
    """A till. Its API key fixes the store it may act for."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT)
    code = models.CharField(_("till code"), max_length=20)
    name = models.CharField(_("name"), max_length=50, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("till")
        verbose_name_plural = _("tills")
        ordering = ["store__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="terminal_unique_code"),
        ]

    def __str__(self):
        return f"{self.store.code}-{self.code}"


class TerminalAPIKey(AbstractAPIKey):
    """A till's API key, stored hashed; the plain key is shown once when created.

    The library's fields are declared again (same columns) only to give them translated names
    and help: it leaves them untranslatable (PREFIX, NAME, CREATED, REVOKED in the admin).
    """

    prefix = models.CharField(_("key prefix"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    name = models.CharField(
        _("name"),
        max_length=50,
        blank=False,
        default=None,
        help_text=_("A name for the key, e.g. the till it is for. Need not be unique."),
    )
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("A revoked key is refused from then on. This cannot be undone."),
    )
    expiry_date = models.DateTimeField(
        _("expires at"),
        blank=True,
        null=True,
        help_text=_("From then on the key is refused. Empty: never."),
    )
    terminal = models.ForeignKey(
        Terminal, verbose_name=_("till"), on_delete=models.CASCADE, related_name="api_keys"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("till API key")
        verbose_name_plural = _("till API keys")


class IdempotencyRecord(models.Model):
    """The first answer to a till's POST, kept per till and `Idempotency-Key`.

    The row is inserted in the same transaction as the business write it guards, so a crash
    can never leave a key without its effect or an effect without its key; the unique
    (terminal, key) makes a second identical request wait for the first and then replay it.
    """

    terminal = models.ForeignKey(
        Terminal, verbose_name=_("till"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=64)
    fingerprint = models.CharField(
        _("request fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and body.")
    )
    status = models.PositiveSmallIntegerField(_("HTTP status"), default=0)
    response = models.JSONField(
        _("response body"), null=True, blank=True, encoder=DjangoJSONEncoder
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["terminal", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self):
        return f"{self.terminal_id}:{self.key}"


class TillAuthFailure(models.Model):
    """Failed till authentications in the current window, per key prefix and per client
    address (stores/api/throttling.py). Kept in PostgreSQL, not the cache: with Redis down an
    attacker still gets no more tries than the limit, and every gunicorn worker counts alike.
    One row per (scope, ident), restarted when its window has passed; the nightly purge drops
    rows whose window ended long ago."""

    class Scope(models.TextChoices):
        PREFIX = "prefix", _("key prefix")
        ADDRESS = "address", _("client address")

    scope = models.CharField(_("counted by"), max_length=10, choices=Scope.choices)
    ident = models.CharField(_("prefix or address"), max_length=64)
    window_start = models.DateTimeField(_("window start"), default=timezone.now)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("failed till authentication")
        verbose_name_plural = _("failed till authentications")
        constraints = [
            models.UniqueConstraint(fields=["scope", "ident"], name="tillauthfailure_unique"),
        ]
        indexes = [models.Index(fields=["window_start"], name="tillauthfailure_window")]

    def __str__(self):
        return f"{self.scope}:{self.ident} ({self.failures})"
