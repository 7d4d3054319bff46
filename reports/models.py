"""Reports' own tables: daily aggregates kept by a job, snapshots, store takings, and the
settlement between stores (rates, monthly periods and their frozen lines).

Everything here is derived from the ledgers below (recomputable) except the settings head
office types in (settlement rates, store takings) and the lines of a closed period, which are
frozen when it closes and never recomputed.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, default=ZERO)


def _count(verbose_name):
    return models.BigIntegerField(verbose_name, default=0)


class DailyStats(models.Model):
    """One day's figures for one store, or for the whole chain (store empty).

    Sales, points and stored-value movements count where they happened (the entry's store);
    new members, outstanding points and stored value count by the member's home store. Active
    members are distinct members with a sale: on the day, and in the 7 and 30 days ending it
    (the chain row counts a member who shopped in two stores once).
    """

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the whole chain."),
    )
    sales_count = _count(_("sales"))
    sales_amount = _money(_("sales amount"))
    paid_amount = _money(_("paid by members"))
    points_offset = _money(_("points offset (yuan)"))
    refund_amount = _money(_("refunded"))
    new_members = _count(_("new members"))
    active_members = _count(_("active members (day)"))
    active_members_7 = _count(_("active members (7 days)"))
    active_members_30 = _count(_("active members (30 days)"))
    points_issued = _count(_("points issued"))
    points_redeemed = _count(_("points redeemed"))
    points_expired = _count(_("points expired"))
    sv_recharged = _money(_("stored value recharged"))
    sv_bonus_given = _money(_("recharge bonus given"))
    sv_spent = _money(_("stored value spent"))
    points_outstanding = _count(_("points outstanding (end of day)"))
    sv_principal_outstanding = _money(_("principal outstanding (end of day)"))
    sv_bonus_outstanding = _money(_("bonus outstanding (end of day)"))
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        ordering = ["-day"]
        permissions = [("view_reports", _("Can see the dashboard and the reports"))]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "store"], name="dailystats_unique_day_store", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["store", "day"], name="dailystats_store_day")]

    def __str__(self):
        return f"{self.day} {self.store or _('Chain')}"


class ScopeActivity(models.Model):
    """Active members of one day for a set of stores that one person manages (an area
    manager's dashboard). Stores' own counts cannot be added up (a member who shopped in two
    of them is one active member), and counting them over a month of sales at each visit of
    the page costs about 25 ms per store at chain scale, so the daily job counts them too."""

    day = models.DateField(_("day"))
    scope = models.TextField(_("store ids"), help_text=_("The ids of the stores, ascending."))
    active_members = _count(_("active members (day)"))
    active_members_7 = _count(_("active members (7 days)"))
    active_members_30 = _count(_("active members (30 days)"))
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)

    class Meta:
        verbose_name = _("active members of a group of stores")
        verbose_name_plural = _("active members of groups of stores")
        constraints = [
            models.UniqueConstraint(fields=["scope", "day"], name="scopeactivity_unique"),
        ]

    def __str__(self):
        return f"{self.day} {self.scope}"

    @staticmethod
    def key(store_ids):
        return ",".join(str(pk) for pk in sorted(store_ids))


class StoreSnapshot(models.Model):
    """What a store's members look like now (as of the last refresh): members by tier and the
    points expiring in the next 30 days. By home store; store empty: the whole chain."""

    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    members = _count(_("members"))
    tier_counts = models.JSONField(
        _("members by tier"), default=dict, help_text=_("Tier id (or 'none') -> members.")
    )
    points_expiring_30 = _count(_("points expiring in 30 days"))
    members_expiring_30 = _count(_("members with points expiring in 30 days"))

    class Meta:
        verbose_name = _("store snapshot")
        verbose_name_plural = _("store snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["store"], name="storesnapshot_unique_store", nulls_distinct=False
            ),
        ]

    def __str__(self):
        return f"{self.store or _('Chain')} @ {self.taken_at:%Y-%m-%d %H:%M}"


class StoreTakings(models.Model):
    """A store's total takings for a day (营业额), members or not, as its POS reports them.

    The till API only sees member sales; with this figure the dashboard shows the members'
    share of sales (会员消费占比).
    """

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day"))
    amount = models.DecimalField(
        _("takings"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("All sales of the day, yuan."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        verbose_name = _("store takings")
        verbose_name_plural = _("store takings")
        ordering = ["-day", "store__code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="storetakings_unique_day"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                name="storetakings_amount_gte_0",
                violation_error_message=_("Takings cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.store} {self.day}: ¥{self.amount}"


class SettlementRate(models.Model):
    """What one point is worth between stores from a day on (结算单价). Without any, a point
    settles at the redemption value of the redemption rule in force (1 / points per yuan)."""

    effective_from = models.DateField(_("effective from"), unique=True)
    yuan_per_point = models.DecimalField(
        _("yuan per point"),
        max_digits=12,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text=_("e.g. 0.010000 when 100 points are worth one yuan."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("settlement rate")
        verbose_name_plural = _("settlement rates")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(yuan_per_point__gt=0),
                name="settlementrate_gt_0",
                violation_error_message=_("A point must be worth more than nothing."),
            ),
        ]

    def __str__(self):
        return f"{self.effective_from}: ¥{self.yuan_per_point}/pt"


class SettlementPeriod(models.Model):
    """A calendar month of settlement between stores. While open its lines are a draft that
    the job recomputes; closing computes them one last time and freezes them for ever."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open (draft)")
        CLOSED = "closed", _("Closed")

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month."))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the closed period took in: rows of the base tables up to these ids. A row dated in a
    # closed month but written after it closed lands in the next open period instead.
    last_consumption_id = models.BigIntegerField(_("last lot consumption"), null=True, blank=True)
    last_wallet_entry_id = models.BigIntegerField(
        _("last stored-value entry"), null=True, blank=True
    )
    last_coupon_event_id = models.BigIntegerField(_("last coupon event"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement period")
        verbose_name_plural = _("settlement periods")
        ordering = ["-month"]
        permissions = [("close_settlementperiod", _("Can close a settlement period"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="settlementperiod_first_of_month"
            ),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def is_closed(self):
        return self.status == self.Status.CLOSED


class SettlementLine(models.Model):
    """What `payer` owes `payee` for one kind of value in one period, at one rate.

    Points: the payer issued the lots (the store of the entry that created each lot), the payee
    took them in a redemption. Stored value: the payer received the recharge money, the payee
    handed over the goods. An empty store is head office. Figures are signed: a refund in this
    period of a redemption from an earlier one is a negative line (a reversing entry).
    """

    class Kind(models.TextChoices):
        POINTS = "points", _("Points")
        STORED_VALUE = "stored_value", _("Stored value")
        COUPON = "coupon", _("Coupon discounts")

    period = models.ForeignKey(
        SettlementPeriod, verbose_name=_("period"), on_delete=models.CASCADE, related_name="lines"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    payer = models.ForeignKey(
        "stores.Store",
        verbose_name=_("payer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: head office."),
    )
    payee = models.ForeignKey(
        "stores.Store",
        verbose_name=_("payee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: head office."),
    )
    points = models.BigIntegerField(_("points"), default=0)
    rate = models.DecimalField(
        _("yuan per point"), max_digits=12, decimal_places=6, null=True, blank=True
    )
    amount = _money(_("amount"))

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["period", "kind", "payer", "payee"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "kind", "payer", "payee", "rate"],
                name="settlementline_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return (
            f"{self.payer or _('Head office')} → {self.payee or _('Head office')}: ¥{self.amount}"
        )
