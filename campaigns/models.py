"""Campaigns (营销活动): member statistics, segments, campaigns with a control group, and the
chain-wide holdout.

- MemberStats: one row per member, refreshed nightly (campaigns.statistics): visits and spend
  over 30 / 90 / 365 days, average ticket, median days between visits, favourite store, RFM
  scores and cell, lapse stage, points expiring, unused coupons. The last visit itself is the
  member's own `last_visit_at`, kept by every checkout.
- Segment: conditions joined with AND / OR / NOT over those statistics and the member's profile
  (campaigns.segments compiles them to one SQL condition).
- Campaign: a segment, an offer (coupons of a template, or a points multiplier for some days),
  a control share and a schedule. At launch the audience is frozen (CampaignMember rows, with
  the segment definition's hash) and each member is assigned to treatment or control by a hash
  of the campaign's salt and the member id; control members get nothing from the campaign.
- HoldoutDraw: the chain-wide holdout of a year (members left out of every promotional
  campaign), drawn by a hash as well, so it needs no rows per member.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ZERO = Decimal("0.00")


def new_salt():
    return secrets.token_hex(8)


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs
    )


class RfmCell(models.TextChoices):
    """The eight RFM cells Chinese operators use: recency, frequency and money each above or
    below the chain's average (R above average = bought more recently than most)."""

    IMPORTANT_VALUE = "hhh", _("Important: value")
    IMPORTANT_DEVELOP = "hlh", _("Important: develop")
    IMPORTANT_KEEP = "lhh", _("Important: keep")
    IMPORTANT_RETAIN = "llh", _("Important: win back")
    NORMAL_VALUE = "hhl", _("Ordinary: value")
    NORMAL_DEVELOP = "hll", _("Ordinary: develop")
    NORMAL_KEEP = "lhl", _("Ordinary: keep")
    NORMAL_RETAIN = "lll", _("Ordinary: win back")


class LapseStage(models.TextChoices):
    """Where a member stands by the days since their last visit, measured against their own
    rhythm (k times their median gap between visits, never under a floor): see settings
    CAMPAIGNS_LAPSE.

    The labels carry a context: "Lost" is also a card's status (已挂失), and a member who
    stopped coming is 流失, not a card reported lost."""

    ACTIVE = "active", pgettext_lazy("lapse stage", "Active")
    WARNING = "warning", pgettext_lazy("lapse stage", "Lapsing")
    DORMANT = "dormant", pgettext_lazy("lapse stage", "Dormant")
    LOST = "lost", pgettext_lazy("lapse stage", "Lost")
    NEVER = "never", _("Never bought")


class MemberStats(models.Model):
    """What a member's purchases say about them, as of the last nightly refresh."""

    member = models.OneToOneField(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="stats",
    )
    visits_30 = models.PositiveIntegerField(_("visits, 30 days"), default=0)
    visits_90 = models.PositiveIntegerField(_("visits, 90 days"), default=0)
    visits_365 = models.PositiveIntegerField(_("visits, 365 days"), default=0)
    spend_30 = _money(_("spend, 30 days"))
    spend_90 = _money(_("spend, 90 days"))
    spend_365 = _money(_("spend, 365 days"))
    avg_ticket = models.DecimalField(
        _("average ticket"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    median_gap_days = models.DecimalField(
        _("median days between visits"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Over the last 12 visits within two years. Empty: fewer than two visits."),
    )
    favourite_store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("favourite store"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recency_days = models.PositiveIntegerField(_("days since last visit"), null=True, blank=True)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    rfm_cell = models.CharField(
        _("RFM cell"), max_length=3, choices=RfmCell.choices, blank=True, default=""
    )
    lapse_stage = models.CharField(
        _("lapse stage"), max_length=10, choices=LapseStage.choices, default=LapseStage.NEVER
    )
    visits_to_next_tier = models.PositiveIntegerField(
        _("visits short of the next tier"),
        null=True,
        blank=True,
        help_text=_("Spend still missing for the next tier, at the member's average ticket."),
    )
    points_expiring_30 = models.PositiveIntegerField(_("points expiring in 30 days"), default=0)
    unused_coupons = models.PositiveIntegerField(_("unused coupons"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)

    class Meta:
        verbose_name = _("member statistics")
        verbose_name_plural = _("member statistics")
        indexes = [
            models.Index(fields=["rfm_cell"], name="memberstats_rfm_cell"),
            models.Index(fields=["lapse_stage"], name="memberstats_lapse_stage"),
        ]

    def __str__(self):
        return str(self.member_id)


class StatsRun(models.Model):
    """One refresh of the member statistics: when, as of when, how many members, how long, and
    the RFM thresholds it scored with."""

    as_of = models.DateTimeField(_("as of"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    members = models.PositiveIntegerField(_("members"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    thresholds = models.JSONField(_("RFM thresholds"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=10)

    class Meta:
        verbose_name = _("statistics refresh")
        verbose_name_plural = _("statistics refreshes")
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{timezone.localtime(self.as_of):%Y-%m-%d %H:%M}"


class Segment(models.Model):
    """A definition of who (人群): conditions joined with AND / OR / NOT. Evaluated live; a
    campaign freezes the members it matched at launch, with the definition's hash."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    definition = models.JSONField(_("conditions"), default=dict)
    definition_hash = models.CharField(_("definition hash"), max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Campaign(models.Model):
    """A campaign (营销活动) measured against a random control group (对比组)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LAUNCHING = "launching", _("Launching")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")

    class Offer(models.TextChoices):
        COUPON = "coupon", _("Coupons of a template")
        MULTIPLIER = "multiplier", _("Points multiplier")

    class Schedule(models.TextChoices):
        ONCE = "once", _("Once, at launch")
        DAILY = "daily", _("Daily (triggered: birthdays, win-back)")

    code = models.CharField(_("campaign code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="campaigns"
    )
    offer = models.CharField(_("offer"), max_length=10, choices=Offer.choices, default=Offer.COUPON)
    coupon_template = models.ForeignKey(
        "coupons.CouponTemplate",
        verbose_name=_("coupon template"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    multiplier = models.DecimalField(
        _("points multiplier"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(Decimal("10"))],
        help_text=_("2.00 doubles the points the amount rules give."),
    )
    offer_starts_on = models.DateField(
        _("points offer from"), null=True, blank=True, help_text=_("Points multiplier only.")
    )
    offer_ends_on = models.DateField(
        _("points offer until"),
        null=True,
        blank=True,
        help_text=_("Inclusive. Points multiplier only."),
    )
    offer_days = models.PositiveSmallIntegerField(
        _("points offer lasts (days)"),
        null=True,
        blank=True,
        help_text=_("Daily campaigns with a points multiplier: days from each member's entry."),
    )
    control_percent = models.DecimalField(
        _("control share (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("50"))],
        help_text=_("Members drawn at random who get nothing, to measure against. 1–50."),
    )
    message_kind = models.CharField(
        _("message to the treatment arm"),
        max_length=20,
        blank=True,
        default="campaign_offer",
        choices=[
            ("", _("No message")),
            ("campaign_offer", _("Campaign offer")),
            ("birthday", _("Birthday greeting")),
        ],
        help_text=_(
            "Sent by SMS or WeChat to treatment members who agreed to marketing (quiet hours "
            "and the weekly cap apply), with a copy in their inbox. The control arm gets nothing."
        ),
    )
    respect_holdout = models.BooleanField(
        _("promotional (leave the chain-wide holdout out)"), default=True
    )
    schedule = models.CharField(
        _("schedule"), max_length=10, choices=Schedule.choices, default=Schedule.ONCE
    )
    cooldown_days = models.PositiveIntegerField(
        _("cool-down (days)"),
        default=30,
        help_text=_("Daily campaigns: a member enters again only this many days after entering."),
    )
    ends_on = models.DateField(
        _("last day of entry"),
        null=True,
        blank=True,
        help_text=_("Daily campaigns: no one enters after this day. Empty: until finished."),
    )
    measure_days = models.PositiveSmallIntegerField(
        _("measurement window (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Each member's purchases are counted for this many days from their entry."),
    )
    salt = models.CharField(_("assignment salt"), max_length=32, default=new_salt, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # What the audience was drawn with: the segment's definition and its hash at launch.
    frozen_definition = models.JSONField(_("frozen conditions"), default=dict, blank=True)
    frozen_hash = models.CharField(_("frozen definition hash"), max_length=64, blank=True)
    earning_rule = models.ForeignKey(
        "loyalty.EarningRule",
        verbose_name=_("earning rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    audience = models.PositiveIntegerField(_("audience"), default=0)
    treatment = models.PositiveIntegerField(_("treatment"), default=0)
    control = models.PositiveIntegerField(_("control"), default=0)
    held_out = models.PositiveIntegerField(_("left out (chain holdout)"), default=0)
    offers_issued = models.PositiveIntegerField(_("offers given"), default=0)
    offers_refused = models.PositiveIntegerField(
        _("offers refused"),
        default=0,
        help_text=_("Treatment members the template's total or per-member limit left out."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("launched by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(control_percent__gte=1) & Q(control_percent__lte=50),
                name="campaign_control_share_1_50",
                violation_error_message=_("The control share is from 1 to 50 percent."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def control_share(self):
        return self.control_percent / 100

    @property
    def control_buckets(self):
        """Buckets 0..9999 below this are control (10.00% -> 1,000)."""
        return int(self.control_percent * 100)

    def occasion(self, enrolled_on=None):
        """What names this campaign's coupons in their issue keys: once per campaign, or once
        per member's entry (a daily campaign's cycle), so a rerun issues nothing twice."""
        if self.schedule == self.Schedule.DAILY:
            return f"campaign:{self.pk}:{enrolled_on.isoformat()}"
        return f"campaign:{self.pk}"


class CampaignMember(models.Model):
    """A member's entry into a campaign: the arm the hash put them in, and what they spent in
    the period before (the covariate that narrows the report's interval, CUPED)."""

    class Arm(models.TextChoices):
        TREATMENT = "treatment", _("Treatment")
        CONTROL = "control", _("Control")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="members"
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="campaign_entries",
    )
    enrolled_on = models.DateField(_("entered on"))
    enrolled_at = models.DateTimeField(_("entered at"))
    arm = models.CharField(_("arm"), max_length=10, choices=Arm.choices)
    bucket = models.PositiveSmallIntegerField(_("bucket (0–9999)"))
    pre_spend = _money(_("spend before entry"))

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "enrolled_on"], name="campaignmember_unique_entry"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "campaign"], name="campaignmember_member"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.member_id} {self.arm}"


class CampaignRun(models.Model):
    """One day of a daily campaign (or the launch of a one-off): who entered, how many got the
    offer. Rerunning a day adds only members who were not in yet."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="runs"
    )
    day = models.DateField(_("day"))
    entered = models.PositiveIntegerField(_("entered"), default=0)
    treatment = models.PositiveIntegerField(_("treatment"), default=0)
    control = models.PositiveIntegerField(_("control"), default=0)
    held_out = models.PositiveIntegerField(_("left out (chain holdout)"), default=0)
    offers_issued = models.PositiveIntegerField(_("offers given"), default=0)
    offers_refused = models.PositiveIntegerField(_("offers refused"), default=0)
    finished_at = models.DateTimeField(_("finished at"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="campaignrun_unique_day"),
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.day}"


class HoldoutDraw(models.Model):
    """The chain-wide holdout of a year: members whose hash of this year's salt falls below the
    share are left out of every promotional campaign that year, so head office can measure all
    campaigns together against members who got none. A new year draws anew (a new salt)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("20"))],
    )
    salt = models.CharField(_("salt"), max_length=32, default=new_salt, editable=False)
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
        verbose_name = _("chain-wide holdout")
        verbose_name_plural = _("chain-wide holdouts")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=20),
                name="holdout_share_0_20",
                violation_error_message=_("The holdout is from 0 to 20 percent of the members."),
            ),
        ]

    def __str__(self):
        return f"{self.year}: {self.percent}%"

    @property
    def buckets(self):
        return int(self.percent * 100)
