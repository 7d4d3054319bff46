"""Coupons (优惠券): templates with immutable versions of their terms, the coupons issued from
them, and the append-only ledger of what happened to each coupon.

A template is what head office manages (name, how many may be issued, to whom, when, for how
many points); its terms (what the coupon takes off, on what, where, when, how long it lasts,
who funds it, what a refund does) live in versions: an edit makes a new version, and every coupon
keeps the version it was issued with.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from core.models import HistorySource, LedgerEntryBase

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
        **kwargs,
    )


class CouponTemplate(models.Model):
    """What head office issues coupons from (优惠券模板)."""

    code = models.CharField(_("template code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    current_version = models.ForeignKey(
        "coupons.CouponTemplateVersion",
        verbose_name=_("current terms"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    total_quantity = models.PositiveIntegerField(
        _("total quantity"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    # Taken by a conditional UPDATE (issued + n <= total), never read-then-save: however many
    # issuers run at once, the total is never exceeded.
    issued = models.PositiveIntegerField(_("issued"), default=0)
    per_member_limit = models.PositiveIntegerField(
        _("per member"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many coupons of this template one member may hold in all."),
    )
    claim_from = models.DateTimeField(_("issue from"), null=True, blank=True)
    claim_until = models.DateTimeField(_("issue until"), null=True, blank=True)
    on_registration = models.BooleanField(_("issue on registration"), default=False)
    on_birthday = models.BooleanField(_("issue on the birthday"), default=False)
    on_first_purchase = models.BooleanField(_("issue after the first purchase"), default=False)
    exchange_points = models.PositiveIntegerField(
        _("points to exchange"),
        null=True,
        blank=True,
        help_text=_("Members may take this coupon for this many points. Empty: not offered."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(bases=[HistorySource], excluded_fields=["issued"])

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_quantity__isnull=True)
                | Q(issued__lte=models.F("total_quantity")),
                name="coupontemplate_issued_lte_total",
                violation_error_message=_(
                    "The total quantity cannot be less than the coupons already issued."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def left(self):
        """How many may still be issued (None: no limit)."""
        if self.total_quantity is None:
            return None
        return max(self.total_quantity - self.issued, 0)


class CouponTemplateVersion(models.Model):
    """The terms of a template as they were at one time. Never changed once coupons exist:
    an edit in the admin saves a new version (CouponTemplate.current_version)."""

    class Kind(models.TextChoices):
        CASH = "cash", _("Cash off (满减)")
        PERCENT = "percent", _("Percent off (折扣)")
        FREE_ITEM = "free_item", _("Free item (赠品)")

    class Scope(models.TextChoices):
        ALL = "all", _("Every item")
        CATEGORIES = "categories", _("Some categories")
        SKUS = "skus", _("Some SKUs")

    class Stores(models.TextChoices):
        ALL = "all", _("Every store")
        DIRECT = "direct", _("Direct stores")
        FRANCHISE = "franchise", _("Franchise stores")
        LISTED = "listed", _("The stores listed")

    class Validity(models.TextChoices):
        FIXED = "fixed", _("Fixed dates")
        RELATIVE = "relative", _("Days after issue")

    class Funding(models.TextChoices):
        HEAD_OFFICE = "head_office", _("Head office")
        STORE = "store", _("The redeeming store")
        SPLIT = "split", _("Split")

    class RefundPolicy(models.TextChoices):
        RETURN = "return", _("Returned on a full refund")
        KEEP_USED = "keep_used", _("Never returned")

    template = models.ForeignKey(
        CouponTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="versions",
    )
    number = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CASH)
    face_value = _money(_("face value (yuan)"), default=ZERO)
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
        help_text=_("10 means 10 percent off the eligible items (9折)."),
    )
    cap = _money(
        _("at most (yuan)"), null=True, blank=True, help_text=_("Percent and free item only.")
    )
    free_sku = models.CharField(
        _("free item SKU"), max_length=64, blank=True, help_text=_("Free item only.")
    )
    threshold = _money(
        _("threshold (yuan)"), default=ZERO, help_text=_("Eligible items must reach this.")
    )
    scope = models.CharField(_("items"), max_length=10, choices=Scope.choices, default=Scope.ALL)
    categories = models.CharField(
        _("categories"), max_length=200, blank=True, help_text=_("Comma separated.")
    )
    skus = models.TextField(_("SKUs"), blank=True, help_text=_("Comma separated."))
    excluded_categories = models.CharField(
        _("excluded categories"), max_length=200, blank=True, help_text=_("Comma separated.")
    )
    stores = models.CharField(
        _("stores"), max_length=10, choices=Stores.choices, default=Stores.ALL
    )
    store_list = models.ManyToManyField(
        "stores.Store", verbose_name=_("listed stores"), blank=True, related_name="+"
    )
    weekdays = models.CharField(
        _("weekdays"),
        max_length=20,
        blank=True,
        help_text=_("1 = Monday … 7 = Sunday, comma separated. Empty: every day."),
    )
    hour_from = models.TimeField(_("from (time of day)"), null=True, blank=True)
    hour_until = models.TimeField(_("until (time of day)"), null=True, blank=True)
    validity = models.CharField(
        _("validity"), max_length=10, choices=Validity.choices, default=Validity.RELATIVE
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    starts_after_days = models.PositiveIntegerField(
        _("starts after (days)"), default=0, help_text=_("0: usable the day it is issued.")
    )
    valid_days = models.PositiveIntegerField(
        _("lasts (days)"), default=30, validators=[MinValueValidator(1)]
    )
    hard_end = models.DateField(
        _("never after"), null=True, blank=True, help_text=_("No coupon of it lasts past this day.")
    )
    combinable = models.BooleanField(
        _("combinable"),
        default=True,
        help_text=_("Usable with coupons of other templates on one sale."),
    )
    funding = models.CharField(
        _("funded by"), max_length=12, choices=Funding.choices, default=Funding.HEAD_OFFICE
    )
    store_share_percent = models.DecimalField(
        _("store's share (%)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
        help_text=_("Split funding only: what the redeeming store pays."),
    )
    refund_policy = models.CharField(
        _("on a full refund"),
        max_length=10,
        choices=RefundPolicy.choices,
        default=RefundPolicy.RETURN,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("coupon terms")
        verbose_name_plural = _("coupon terms")
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="couponversion_unique"),
        ]

    def __str__(self):
        return f"{self.template.code} v{self.number}"


class Coupon(models.Model):
    """One coupon. Member-bound (owner set) or printed (no owner: anyone holding the code).

    Status moves available -> used -> available again (a full refund) and available ->
    expired or voided, only in coupons.ledger, with a CouponEvent for each move.
    """

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        USED = "used", _("Used")
        EXPIRED = "expired", pgettext_lazy("coupon status", "Expired")  # 已过期, as 已使用
        VOIDED = "voided", _("Voided")

    code = models.CharField(_("coupon code"), max_length=20, unique=True)
    template = models.ForeignKey(
        CouponTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.ForeignKey(
        CouponTemplateVersion, verbose_name=_("terms"), on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.AVAILABLE
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), help_text=_("The last second it works."))
    # Once per (template, member, occasion): a retried or repeated issue is a no-op.
    issue_key = models.CharField(_("issue key"), max_length=150, unique=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    # Where it was used: the store and receipt (the sale names its coupons; sales sit above).
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("used at store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    used_reference = models.CharField(_("used on receipt"), max_length=100, blank=True)
    # An exchanged coupon names the points entry that paid for it: voided unused, it gives
    # those points back.
    points_entry = models.ForeignKey(
        "loyalty.PointsEntry",
        verbose_name=_("paid with points entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(
                fields=["owner", "valid_until"],
                condition=Q(status="available"),
                name="coupon_available_by_owner",
            ),
            models.Index(
                fields=["valid_until"],
                condition=Q(status="available"),
                name="coupon_available_expiry",
            ),
            models.Index(fields=["template", "status"], name="coupon_template_status"),
        ]

    def __str__(self):
        return self.code

    @classmethod
    def status_shown(cls, status, valid_until, now=None):
        """The status as pages and exports show it: an available coupon past its last second
        is expired (the nightly job has not swept it yet, and it no longer works at a till),
        as the member statistics count it."""
        now = now or timezone.now()
        if status == cls.Status.AVAILABLE and valid_until is not None and valid_until < now:
            status = cls.Status.EXPIRED
        return cls.Status(status).label

    def get_status_shown(self, now=None):
        return self.status_shown(self.status, self.valid_until, now)


class CouponHolding(models.Model):
    """How many coupons of a template a member holds (voided ones not counted): the per-member
    limit is a conditional update of this row, so concurrent issuers cannot exceed it."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    held = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("coupon holding")
        verbose_name_plural = _("coupon holdings")
        constraints = [
            models.UniqueConstraint(fields=["template", "member"], name="couponholding_unique"),
        ]

    def __str__(self):
        return f"{self.template_id}/{self.member_id}: {self.held}"


class CouponEvent(LedgerEntryBase):
    """What happened to a coupon. Append-only: the database refuses UPDATE and DELETE."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        RETURNED = "returned", _("Returned by a refund")
        # Its sale wholly refunded, the coupon kept used by its terms: the discount is undone.
        REFUNDED = "refunded", _("Sale refunded, coupon kept used")
        EXPIRED = "expired", _("Expired")
        VOIDED = "voided", _("Voided")

    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=10, choices=Kind.choices)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=ZERO)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon event")
        verbose_name_plural = _("coupon events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["coupon", "created_at"], name="couponevent_coupon")]

    def __str__(self):
        return f"{self.coupon.code} {self.get_kind_display()}"
