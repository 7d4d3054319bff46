"""Rules head office edits: earning, redemption, expiry, bonuses. A sale copies what it used."""

import calendar
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import HistorySource


def parse_codes(text):
    """'fresh, dairy' -> {'fresh', 'dairy'}: categories and weekdays are typed as lists."""
    return {part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()}


class RuleWindow(models.Model):
    """When and where a rule applies: effective dates, weekdays, hours, stores."""

    name = models.CharField(_("name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    start_date = models.DateField(
        _("effective from"), null=True, blank=True, help_text=_("Empty: since always.")
    )
    end_date = models.DateField(
        _("effective until"), null=True, blank=True, help_text=_("Inclusive. Empty: no end.")
    )
    weekdays = models.CharField(
        _("weekdays"),
        max_length=20,
        blank=True,
        help_text=_(
            "Days of the week it applies, 1 = Monday … 7 = Sunday, e.g. '3' for "
            "Wednesdays. Empty: every day."
        ),
    )
    stores = models.ManyToManyField(
        "stores.Store",
        verbose_name=_("stores"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every store."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    def applies_on(self, when):
        """Date range and weekday check for a local datetime `when`."""
        day = when.date()
        if self.start_date and day < self.start_date:
            return False
        if self.end_date and day > self.end_date:
            return False
        days = parse_codes(self.weekdays)
        return not days or str(when.isoweekday()) in days


class EarningRule(RuleWindow):
    """How a sale earns points (积分规则). Amount rules floor per sale; a sale stores the
    breakdown it was computed with, so editing a rule never rewrites history."""

    class Kind(models.TextChoices):
        PER_AMOUNT = "per_amount", _("X points per Y yuan")
        FIXED = "fixed", _("Fixed points per order")
        MULTIPLIER = "multiplier", _("Multiply amount points (promotion)")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    points = models.PositiveIntegerField(
        _("points"), default=1, help_text=_("X points (per Y yuan, or per order).")
    )
    per_amount = models.DecimalField(
        _("per yuan amount"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Y yuan. Points are rounded down over the whole sale."),
    )
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("2.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("For promotions: 2.00 doubles the points of the amount rules."),
    )
    categories = models.CharField(
        _("categories"),
        max_length=200,
        blank=True,
        help_text=_("Comma-separated product categories this rule covers. Empty: all."),
    )
    min_order_amount = models.DecimalField(
        _("minimum order (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    start_time = models.TimeField(_("from hour"), null=True, blank=True)
    end_time = models.TimeField(
        _("until hour"), null=True, blank=True, help_text=_("Exclusive. Empty: all day.")
    )
    tiers = models.ManyToManyField(
        "members.Tier",
        verbose_name=_("tiers"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every tier."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Higher first. See 'exclusive'.")
    )
    exclusive = models.BooleanField(
        _("exclusive"),
        default=False,
        help_text=_(
            "An exclusive rule stops every lower-priority rule of its kind for what it covers "
            "(the lines of its categories, or the order); otherwise rules add up."
        ),
    )
    # A promotion for some members only (a campaign's treatment arm: "double points for you
    # this fortnight"): only the members listed in EarningRuleMember earn by it, each on the
    # days listed for them. Set by the service that creates it, never in the admin.
    targeted = models.BooleanField(
        _("listed members only"),
        default=False,
        help_text=_("Only the members a campaign listed for it earn by it, on their days."),
    )

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource], m2m_fields=["stores", "tiers"])

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["-priority", "id"]

    def applies_at(self, when):
        if not self.applies_on(when):
            return False
        moment = when.time()
        if self.start_time and moment < self.start_time:
            return False
        return not (self.end_time and moment >= self.end_time)

    def covers(self, category):
        codes = parse_codes(self.categories)
        return not codes or category in codes


class EarningRuleMember(models.Model):
    """A member a targeted earning rule applies to, and the days it applies for them.

    Not a many-to-many field of the rule on purpose: the rule book loads every rule's links
    into each process, and a campaign lists a million members here; a checkout asks for its
    own member's rows only, and only while a targeted rule is in force."""

    rule = models.ForeignKey(
        EarningRule, verbose_name=_("earning rule"), on_delete=models.PROTECT, related_name="+"
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), help_text=_("Inclusive."))

    class Meta:
        verbose_name = _("member of a targeted rule")
        verbose_name_plural = _("members of targeted rules")
        constraints = [
            models.UniqueConstraint(fields=["rule", "member"], name="earningrulemember_unique"),
        ]
        indexes = [models.Index(fields=["member", "rule"], name="earningrulemember_member")]

    def __str__(self):
        return f"{self.rule_id}/{self.member_id} {self.starts_on}..{self.ends_on}"


class RedemptionRule(RuleWindow):
    """Points offset at the till (积分抵现): N points = 1 yuan, within limits."""

    points_per_yuan = models.PositiveIntegerField(
        _("points per yuan"), default=100, validators=[MinValueValidator(1)]
    )
    min_points = models.PositiveIntegerField(
        _("minimum points"), default=0, help_text=_("Fewest points one sale may redeem.")
    )
    step = models.PositiveIntegerField(
        _("step"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Points are redeemed in multiples of this, e.g. 100."),
    )
    min_order_amount = models.DecimalField(
        _("minimum order (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    max_share_percent = models.DecimalField(
        _("maximum share of the order (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("100.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Of the amount of eligible lines, e.g. 50.00."),
    )
    excluded_categories = models.CharField(
        _("excluded categories"),
        max_length=200,
        blank=True,
        help_text=_("Comma-separated categories points cannot pay for (e.g. tobacco)."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("When several rules apply, the highest wins.")
    )

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource], m2m_fields=["stores"])

    class Meta:
        verbose_name = _("redemption rule")
        verbose_name_plural = _("redemption rules")
        ordering = ["-priority", "-id"]

    def excludes(self, category):
        return category in parse_codes(self.excluded_categories)


class ExpiryPolicy(models.Model):
    """When newly earned points expire. The policy in force on the earning day decides; a lot
    keeps its date when the policy changes later."""

    class Mode(models.TextChoices):
        NEVER = "never", _("Never")
        MONTHS = "months", _("N months after earning")
        QUARTER_END = "quarter_end", _("End of a quarter after earning")
        YEAR_END = "year_end", _("End of a year after earning")

    name = models.CharField(_("name"), max_length=60)
    mode = models.CharField(_("expiry"), max_length=12, choices=Mode.choices)
    months = models.PositiveSmallIntegerField(
        _("months"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("For 'N months after earning'."),
    )
    periods_after = models.PositiveSmallIntegerField(
        _("periods after"),
        default=1,
        validators=[MaxValueValidator(10)],
        help_text=_(
            "For quarter or year ends: 0 = end of the quarter/year of earning, 1 = end of the "
            "next one, and so on."
        ),
    )
    start_date = models.DateField(
        _("effective from"), help_text=_("Points earned from this day follow this policy.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        verbose_name = _("expiry policy")
        verbose_name_plural = _("expiry policies")
        ordering = ["-start_date", "-id"]

    def __str__(self):
        return self.name

    def expires_at(self, earned_at):
        """The instant a lot earned at `earned_at` expires: the first moment it is no longer
        spendable (local midnight), so 23:59:59 on the last day is still inside."""
        if self.mode == self.Mode.NEVER:
            return None
        local = timezone.localtime(earned_at)
        if self.mode == self.Mode.MONTHS:
            month0 = local.month - 1 + self.months
            year, month = local.year + month0 // 12, month0 % 12 + 1
            day = min(local.day, calendar.monthrange(year, month)[1])
            end = datetime.combine(local.date().replace(year=year, month=month, day=day), time())
            return timezone.make_aware(end + timedelta(days=1))
        if self.mode == self.Mode.QUARTER_END:
            quarter0 = (local.month - 1) // 3 + self.periods_after + 1  # quarter after the end
            year, month = local.year + quarter0 // 4, (quarter0 % 4) * 3 + 1
        else:
            year, month = local.year + self.periods_after + 1, 1
        return timezone.make_aware(datetime(year, month, 1))


class BonusRule(models.Model):
    """Bonus points for an occasion; each is paid at most once per member per occasion (a
    unique ledger key). Birthday bonuses are set per tier."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration", _("Registration")
        HOLIDAY = "holiday", _("Holiday")
        REFERRAL = "referral", _("Referral")

    kind = models.CharField(_("occasion"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60)
    points = models.PositiveIntegerField(
        _("points"), help_text=_("For referrals: what the new member gets.")
    )
    referrer_points = models.PositiveIntegerField(
        _("referrer points"), default=0, help_text=_("Referral only: what the referrer gets.")
    )
    holiday = models.DateField(_("holiday date"), null=True, blank=True)
    min_order_amount = models.DecimalField(
        _("minimum first sale (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Referral only: the new member's first sale must reach this."),
    )
    start_date = models.DateField(_("effective from"), null=True, blank=True)
    end_date = models.DateField(_("effective until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        verbose_name = _("bonus rule")
        verbose_name_plural = _("bonus rules")
        ordering = ["kind", "-id"]

    def __str__(self):
        return self.name


class BonusRun(models.Model):
    """A scheduled bonus job's day that is done (`job`: "birthday", "holiday:<rule id>"). The
    jobs catch up over every day not yet done, so a day the scheduler missed is paid late
    rather than never; every payment is keyed, so a crash halfway and a rerun pay nothing
    twice."""

    job = models.CharField(_("job"), max_length=40)
    day = models.DateField(_("day"))
    paid = models.PositiveIntegerField(_("members paid"), default=0)
    finished_at = models.DateTimeField(_("finished at"), default=timezone.now)

    class Meta:
        verbose_name = _("bonus run")
        verbose_name_plural = _("bonus runs")
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="bonusrun_unique_day")]

    def __str__(self):
        return f"{self.job} {self.day}"


class RuleBookVersion(models.Model):
    """A single row whose token database triggers change whenever anything a checkout reads
    about the rules changes (tiers, earning and redemption rules with their stores and tiers,
    expiry policies), however it changes: the admin, a bulk update, a migration, SQL by hand.
    Each process keeps the rules it loaded until the token moves (see loyalty.rulebook)."""

    token = models.CharField(_("token"), max_length=32)

    class Meta:
        verbose_name = _("rule book version")
        verbose_name_plural = _("rule book versions")

    def __str__(self):
        return self.token
