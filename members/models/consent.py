"""Consent (营销授权): what a member agreed to be sent, per channel and purpose, kept apart from
the membership itself.

- ConsentRecord: every agreement and every withdrawal, append-only: when, by which door (till,
  import, admin, member centre, an SMS reply, an unsubscribe link or list), the wording and its
  version the member saw, who recorded it and from where.
- Consent: the state now, one row per (member, channel, purpose), pointing at the record that
  set it. Messaging reads these rows when it queues and again when it sends.

Marketing needs a row that grants it: no row means the member never agreed. Service notices
(points expiring, stored-value changes) go out unless the member opted out of them (a row that
withdraws). A withdrawal of marketing is final until the member opts in again themselves (at
the till, in the member centre, or by asking head office): an import never overturns it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Source


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service notices")


class ConsentDoor(models.TextChoices):
    """How the member told us."""

    TILL = "till", _("Till")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")
    MEMBER_CENTRE = "member_centre", _("Member centre")
    SMS_REPLY = "sms_reply", _("SMS reply (T / TD / 退订)")
    UNSUBSCRIBE_LINK = "link", _("Unsubscribe link")
    UNSUBSCRIBE_LIST = "list", _("Provider's unsubscribe list")


# Doors through which a member who withdrew may opt in again: they act themselves there.
OPT_IN_AGAIN_DOORS = (ConsentDoor.TILL, ConsentDoor.MEMBER_CENTRE, ConsentDoor.ADMIN)


class ConsentRecord(models.Model):
    """One agreement or withdrawal, as the member gave it. Never changed afterwards."""

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("agreed"))
    door = models.CharField(_("given through"), max_length=15, choices=ConsentDoor.choices)
    text = models.TextField(_("wording agreed to"), blank=True)
    text_version = models.CharField(_("wording version"), max_length=20, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "created_at"], name="consentrecord_member")]

    def __str__(self):
        verb = _("agreed") if self.granted else _("withdrew")
        return f"{self.member_id} {verb} {self.get_channel_display()} {self.get_purpose_display()}"


class Consent(models.Model):
    """A member's consent now, for one channel and purpose."""

    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
        related_name="consents",
    )  # fmt: skip
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("agreed"))
    door = models.CharField(_("given through"), max_length=15, choices=ConsentDoor.choices)
    changed_at = models.DateTimeField(_("since"))
    record = models.ForeignKey(
        ConsentRecord, verbose_name=_("record"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "channel", "purpose"], name="consent_one_per_channel_purpose"
            ),
        ]
        indexes = [
            # Messaging's audience joins: who agreed to marketing on a channel.
            models.Index(
                fields=["channel", "member"],
                name="consent_marketing_granted",
                condition=Q(purpose="marketing", granted=True),
            ),
        ]

    def __str__(self):
        return f"{self.member_id} {self.channel} {self.purpose} {self.granted}"
