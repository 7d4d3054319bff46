"""What a campaign tells its members, through messaging: the treatment arm's offer (never the
control arm's: it gets nothing, or the lift measures nothing), the preview before a launch, and
the reach in the report."""

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from coupons.models import Coupon
from members.models import ConsentPurpose, ConsentRecord, Member
from messaging import services as messaging
from messaging.models import Channel, Message
from messaging.tasks import start_sending

from . import segments
from .assignment import bucket_sql
from .models import Campaign, CampaignMember

Arm = CampaignMember.Arm


def offer_words(campaign):
    """The offer as the message names it: the coupon template's name, or the multiplier."""
    if campaign.offer == Campaign.Offer.COUPON and campaign.coupon_template_id:
        return campaign.coupon_template.name
    return _("%(multiplier)s× points") % {"multiplier": campaign.multiplier}


def treated_members(campaign, day):
    """The treatment members who entered on `day` and got the offer (a coupon the template's
    limits refused is not announced)."""
    treated = Member.objects.filter(
        campaign_entries__campaign=campaign,
        campaign_entries__enrolled_on=day,
        campaign_entries__arm=Arm.TREATMENT,
    )
    if campaign.offer == Campaign.Offer.COUPON:
        treated = treated.filter(
            pk__in=Coupon.objects.filter(
                template_id=campaign.coupon_template_id,
                issue_key__endswith=f":{campaign.occasion(day)}",
            ).values("owner_id")
        )
    return treated


def message_treatment(*, campaign, day, source, actor=None, at=None):
    """Queue the campaign's message to the treatment members of `day` (consent, quiet hours
    and the weekly cap applied by messaging) and have it sent once this commits. Returns the
    Dispatch, or None for a campaign that sends no message."""
    if not campaign.message_kind:
        return None
    dispatch = messaging.queue_for_members(
        occasion=campaign.occasion(day),
        kind=campaign.message_kind,
        members=treated_members(campaign, day),
        source=source,
        actor=actor,
        reference=campaign.code,
        params={"coupon": offer_words(campaign), "campaign": campaign.name},
        at=at or timezone.now(),
    )
    start_sending()
    return dispatch


def launch_preview(campaign, *, at=None):
    """Before the launch: the message the treatment arm would get (the arm is known already:
    the salt is fixed and the hash of each member decides), by channel, who is left out and
    why, and the SMS cost. None for a campaign that sends no message."""
    if not campaign.message_kind:
        return None
    at = at or timezone.now()
    from .services import holdout_for

    segment_sql, params = segments.members_sql(campaign.segment.definition, at=at)
    holdout = holdout_for(timezone.localdate(at)) if campaign.respect_holdout else None
    held = f"{bucket_sql('%s', 'seg.id')} < %s" if holdout else "false"
    held_params = [holdout.salt, holdout.buckets] if holdout else []
    sql = (
        "SELECT seg.id AS member_id, ''::text AS occasion_key, NULL::jsonb AS params "
        f"FROM ({segment_sql}) seg WHERE NOT ({held}) AND {bucket_sql('%s', 'seg.id')} >= %s"
    )
    audience = (sql, [*params, *held_params, campaign.salt, campaign.control_buckets])
    return messaging.preview(
        kind=campaign.message_kind, audience=audience, at=at,
        params={"coupon": offer_words(campaign)},
    )  # fmt: skip


def reach(campaign, *, as_of=None):
    """The campaign's messages: sent (accepted by a provider), delivered, failed, left out at
    sending, inbox copies, cost; and the members of the campaign who unsubscribed from
    marketing between the launch and the end of the window (or `as_of`)."""
    messages = Message.objects.filter(dispatch__reference=campaign.code)
    push = messages.exclude(channel=Channel.INBOX)
    S = Message.Status
    counts = push.aggregate(
        queued=Count("pk", filter=Q(status__in=[S.QUEUED, S.SENDING])),
        sent=Count("pk", filter=Q(status__in=[S.SENT, S.DELIVERED])),
        delivered=Count("pk", filter=Q(status=S.DELIVERED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        suppressed=Count("pk", filter=Q(status=S.SUPPRESSED)),
        sms=Count("pk", filter=Q(channel=Channel.SMS, status__in=[S.SENT, S.DELIVERED])),
        wechat=Count("pk", filter=Q(channel=Channel.WECHAT, status__in=[S.SENT, S.DELIVERED])),
        cost=Sum("cost"),
    )
    counts["inbox"] = messages.filter(channel=Channel.INBOX).count()
    counts["cost"] = (counts["cost"] or Decimal("0")).quantize(Decimal("0.01"))
    until = as_of or timezone.now()
    if campaign.launched_at:
        entered = CampaignMember.objects.filter(campaign=campaign).values("member_id")
        counts["unsubscribed"] = (
            ConsentRecord.objects.filter(
                member_id__in=entered, purpose=ConsentPurpose.MARKETING, granted=False,
                created_at__gte=campaign.launched_at, created_at__lte=until,
            ).values("member_id").distinct().count()
        )  # fmt: skip
    else:
        counts["unsubscribed"] = 0
    counts["to_control"] = messages.filter(
        member__campaign_entries__campaign=campaign,
        member__campaign_entries__arm=Arm.CONTROL,
    ).count()
    return counts
