"""Messaging (会员触达): what the chain tells its members, on which channel, and what became of it.

- MessageTemplate: the wording of a kind of message on a channel (the text the provider
  approved, with {placeholders}); the provider's template code comes from the settings.
- Dispatch: one occasion of sending (a campaign's launch or day, the points expiring on a date,
  the day's stored-value notices): its kind, purpose, shared parameters and what its queueing
  counted (queued per channel, left out per reason).
- Message: one message to one member on one channel. Unique per (dispatch, member, channel,
  occasion key): the database refuses a second one. Its id is the provider's out-id (Aliyun
  OutId, Tencent SessionContext), so a retried send is recognised.
- WechatBinding: the member's openid (the member centre binds it).
- RateBucket: the token bucket of each provider, shared by every worker.
- InboundSms: the replies members sent (上行短信), kept with what they did.
- UnsubscribeImport: one upload of a provider's unsubscribe list.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    INBOX = "inbox", _("Member centre inbox")


PUSH_CHANNELS = (Channel.SMS, Channel.WECHAT)


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service notice")
    VERIFICATION = "verification", _("Verification code")


class Kind(models.TextChoices):
    """What a message is about; each kind has one purpose (KIND_PURPOSE)."""

    CAMPAIGN_OFFER = "campaign_offer", _("Campaign offer")
    BIRTHDAY = "birthday", _("Birthday greeting")
    POINTS_EXPIRING = "points_expiring", _("Points expiring")
    STORED_VALUE = "stored_value", _("Stored-value change")
    TIER_UPGRADE = "tier_upgrade", _("Tier upgrade")
    VERIFICATION_CODE = "verification_code", _("Verification code")


KIND_PURPOSE = {
    Kind.CAMPAIGN_OFFER: Purpose.MARKETING,
    Kind.BIRTHDAY: Purpose.MARKETING,
    Kind.POINTS_EXPIRING: Purpose.SERVICE,
    Kind.STORED_VALUE: Purpose.SERVICE,
    Kind.TIER_UPGRADE: Purpose.SERVICE,
    Kind.VERIFICATION_CODE: Purpose.VERIFICATION,
}


class Exclusion(models.TextChoices):
    """Why a member of an audience gets no message on a push channel."""

    NO_CONSENT = "no_consent", _("No consent")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    CAPPED = "capped", _("Weekly cap reached")
    NO_CHANNEL = "no_channel", _("No reachable channel")
    INACTIVE = "inactive", _("Frozen or closed")
    ALREADY = "already", _("Already sent for this occasion")


class MessageTemplate(models.Model):
    kind = models.CharField(_("message type"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    title = models.CharField(_("title"), max_length=40, blank=True)
    text = models.TextField(
        _("wording"),
        help_text=_(
            "As the provider approved it, with placeholders: {name} {coupon} {points} {date} "
            "{amount} {balance} {tier} {code} {unsubscribe}. Marketing SMS must end with the "
            "unsubscribe words (回T退订)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel"], name="messagetemplate_kind_channel")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} / {self.get_channel_display()}"


class Dispatch(models.Model):
    occasion = models.CharField(_("occasion"), max_length=120, unique=True)
    kind = models.CharField(_("message type"), max_length=20, choices=Kind.choices)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    reference = models.CharField(
        _("reference"), max_length=60, blank=True, db_index=True,
        help_text=_("The campaign code, for a campaign."),
    )  # fmt: skip
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    queued = models.JSONField(_("queued per channel"), default=dict, blank=True)
    excluded = models.JSONField(_("left out per reason"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("operator"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.occasion


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent (checked again at sending)")

    # No foreign-key constraint in the database: every message is inserted in its dispatch's
    # transaction, right after it (and dispatches are never deleted), and the constraint's
    # deferred check per row was a third of queueing a million messages.
    dispatch = models.ForeignKey(
        Dispatch,
        verbose_name=_("dispatch"),
        on_delete=models.PROTECT,
        related_name="messages",
        db_constraint=False,
    )
    # No foreign-key constraint in the database either: its deferred check locks each member
    # row (FOR KEY SHARE) at commit, 40 of the 100 s that queueing a million members took.
    # Members are never deleted (a closed account keeps its row under a pseudonym; PROTECT
    # stops the ORM), every message is inserted from a join on the member table, and
    # tests/messaging/test_integrity.py looks for a message without its member or dispatch.
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
        related_name="messages", db_constraint=False,
    )  # fmt: skip
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Several messages of one dispatch to one member (two stored-value changes in a day): what
    # tells them apart (e.g. "wallet-entry:123"); empty for a campaign.
    occasion_key = models.CharField(_("occasion key"), max_length=60, blank=True, default="")
    kind = models.CharField(_("message type"), max_length=20, choices=Kind.choices)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    recipient = models.CharField(_("to"), max_length=64, blank=True)
    params = models.JSONField(_("parameters"), null=True, blank=True)
    body = models.TextField(_("text"), blank=True)
    # Held (quiet hours) or waiting for its next try: not sent before this.
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The last try's answer was lost (timeout, closed connection): the provider may have it.
    outcome_unknown = models.BooleanField(_("outcome unknown"), default=False)
    backend = models.CharField(_("sent through"), max_length=12, blank=True)
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True)
    error_code = models.CharField(_("error code"), max_length=80, blank=True)
    error_detail = models.CharField(_("error detail"), max_length=255, blank=True)
    segments = models.PositiveSmallIntegerField(_("billed segments"), default=0)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=4, default=0)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-id"]
        constraints = [
            # Member first: it also serves the member page's last messages and the inbox.
            models.UniqueConstraint(
                fields=["member", "dispatch", "channel", "occasion_key"],
                name="message_once_per_occasion",
                violation_error_message=_("This member already has this message on this channel."),
            ),
        ]
        indexes = [
            # The sender's queue: what is due.
            models.Index(
                fields=["status", "not_before"],
                name="message_due",
                condition=Q(status__in=["queued", "sending"]),
            ),
            # The weekly cap counts a member's marketing pushes.
            models.Index(
                fields=["created_at"],
                name="message_marketing_push",
                condition=Q(purpose="marketing") & ~Q(channel="inbox"),
            ),
            models.Index(
                fields=["backend", "provider_id"],
                name="message_provider_id",
                condition=~Q(provider_id=""),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_channel_display()} {self.get_status_display()}"


class WechatBinding(models.Model):
    member = models.OneToOneField(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
        related_name="wechat",
    )  # fmt: skip
    openid = models.CharField(_("openid"), max_length=64, unique=True)
    bound_at = models.DateTimeField(_("bound at"), default=timezone.now)

    class Meta:
        verbose_name = _("WeChat binding")
        verbose_name_plural = _("WeChat bindings")

    def __str__(self):
        return f"{self.member_id} {self.openid}"


class RateBucket(models.Model):
    """A provider's token bucket: `tokens` left as of `updated_at`, refilled at the settings'
    rate. One row per provider, taken by one conditional UPDATE, so all workers share it."""

    name = models.CharField(_("provider"), max_length=20, unique=True)
    tokens = models.FloatField(_("tokens"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("rate bucket")
        verbose_name_plural = _("rate buckets")

    def __str__(self):
        return self.name


class InboundSms(models.Model):
    """A reply a member sent (上行短信), as the provider posted it, and what it did."""

    provider = models.CharField(_("provider"), max_length=12)
    phone = models.CharField(_("phone"), max_length=20)
    text = models.CharField(_("text"), max_length=500)
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
    )  # fmt: skip
    unsubscribed = models.BooleanField(_("unsubscribed"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    # The provider's own id of the reply (retried posts are recognised).
    key = models.CharField(_("key"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("SMS reply")
        verbose_name_plural = _("SMS replies")
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.text[:20]}"


class UnsubscribeImport(models.Model):
    file_name = models.CharField(_("file"), max_length=200)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    unsubscribed = models.PositiveIntegerField(_("unsubscribed"), default=0)
    already = models.PositiveIntegerField(_("already unsubscribed"), default=0)
    unknown = models.PositiveIntegerField(_("not members"), default=0)
    invalid = models.PositiveIntegerField(_("not phone numbers"), default=0)
    channel = models.CharField(_("channel"), max_length=10, default=Channel.SMS)
    source = models.CharField(_("source"), max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("operator"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("unsubscribe list import")
        verbose_name_plural = _("unsubscribe list imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.file_name
