"""Campaign services: every change to segments, campaigns, their audiences and the chain-wide
holdout goes through here. Offers go through the apps that own them: coupons are issued by
coupons.services.issue_coupons (idempotent by the campaign's occasion), points multipliers are
targeted earning rules of loyalty (earned at the checkout, written by the points ledger).

The audience is drawn set-based in one INSERT … SELECT: the segment's members now, less the
chain-wide holdout (promotional campaigns), less members still in their cool-down, each with the
bucket of the campaign's salt and their id (control below the control share) and their spend in
the PRE_DAYS before entry (the covariate of the report's CUPED adjustment).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core import queueing
from coupons.exceptions import CouponNotAvailable
from coupons.services import issue_coupons
from loyalty.services.promotions import create_targeted_multiplier, list_rule_members
from members.models import Member
from sales.models import Sale

from . import lift, segments
from .assignment import bucket_sql
from .exceptions import CampaignNotLaunchable, CampaignNotRunning, InvalidCampaign
from .messages import message_treatment
from .models import Campaign, CampaignMember, CampaignRun, HoldoutDraw, Segment

PRE_DAYS = 90  # the covariate: spend in the 90 days before entry
Arm = CampaignMember.Arm


# --- segments ------------------------------------------------------------------------------


@transaction.atomic
def save_segment(*, segment, definition, actor=None) -> Segment:
    """Save a segment with its definition checked and in canonical form (InvalidSegment
    names every problem). Campaigns already launched keep the definition they froze."""
    cleaned = segments.clean_definition(definition)
    segment.definition = cleaned
    segment.definition_hash = segments.definition_hash(cleaned)
    if segment.pk is None and segment.created_by_id is None:
        segment.created_by = actor
    segment.save()
    return segment


# --- the chain-wide holdout ------------------------------------------------------------------


@transaction.atomic
def draw_holdout(*, year, percent, source, actor=None) -> HoldoutDraw:
    """Draw the chain-wide holdout for `year` (a fresh salt: a new set of members). Once per
    year: redrawing mid-year would move members in and out of campaigns already measured."""
    try:
        percent = Decimal(str(percent))
    except ArithmeticError:
        percent = None
    if percent is None or not Decimal("0") <= percent <= Decimal("20"):
        raise InvalidCampaign(fields={"percent": [_("A share between 0 and 20 percent.")]})
    if HoldoutDraw.objects.filter(year=year).exists():
        raise InvalidCampaign(
            fields={"year": [_("The holdout of %(year)s is already drawn.") % {"year": year}]}
        )
    return HoldoutDraw.objects.create(year=year, percent=percent, created_by=actor)


def holdout_for(day):
    """The holdout in force on `day` (its year's draw), or None."""
    draw = HoldoutDraw.objects.filter(year=day.year).first()
    return draw if draw is not None and draw.percent > 0 else None


# --- campaigns -------------------------------------------------------------------------------


def check_campaign(campaign, *, today=None):
    """InvalidCampaign naming each field that keeps the campaign from launching."""
    today = today or timezone.localdate()
    errors = {}

    def refuse(name, message):
        errors.setdefault(name, []).append(message)

    if campaign.offer == Campaign.Offer.COUPON:
        template = campaign.coupon_template
        if template is None:
            refuse("coupon_template", _("Choose the coupon template the campaign gives."))
        elif not template.is_active or template.current_version_id is None:
            refuse("coupon_template", _("This coupon template is not active."))
    else:
        multiplier = campaign.multiplier
        if multiplier is None or not Decimal("1") < multiplier <= Decimal("10"):
            refuse("multiplier", _("A multiplier above 1 and at most 10, e.g. 2.00."))
        if campaign.schedule == Campaign.Schedule.ONCE:
            if not campaign.offer_starts_on or not campaign.offer_ends_on:
                refuse("offer_ends_on", _("A points offer needs its first and last day."))
            elif campaign.offer_ends_on < campaign.offer_starts_on:
                refuse("offer_ends_on", _("The last day is before the first."))
            elif campaign.offer_ends_on < today:
                refuse("offer_ends_on", _("The points offer is already over."))
        elif not campaign.offer_days:
            refuse("offer_days", _("Say how many days the points offer lasts for each member."))
    if not Decimal("1") <= (campaign.control_percent or 0) <= Decimal("50"):
        refuse("control_percent", _("A control share between 1 and 50 percent."))
    if not 1 <= (campaign.measure_days or 0) <= 365:
        refuse("measure_days", _("A measurement window of 1 to 365 days."))
    if campaign.schedule == Campaign.Schedule.DAILY:
        if campaign.cooldown_days < 1:
            refuse("cooldown_days", _("A daily campaign needs a cool-down of at least a day."))
        if campaign.ends_on and campaign.ends_on < today:
            refuse("ends_on", _("The last day of entry is past."))
    if errors:
        raise InvalidCampaign(fields=errors)


@transaction.atomic
def save_campaign(*, campaign, actor=None) -> Campaign:
    """Save a draft campaign (what it offers, to whom, how it is measured). A launched campaign
    is frozen: its audience was drawn with these settings, and its report depends on them."""
    if campaign.pk is not None:
        status = Campaign.objects.select_for_update().values_list("status", flat=True)
        if status.get(pk=campaign.pk) != Campaign.Status.DRAFT:
            raise CampaignNotLaunchable(_("A launched campaign cannot be changed."))
    elif campaign.created_by_id is None:
        campaign.created_by = actor
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    return campaign


def launch_campaign(*, campaign, source, actor=None, at=None) -> CampaignRun:
    """Launch a draft campaign: freeze the segment's definition (with its hash), draw the
    audience and assign each member to treatment or control (set-based), then give the
    treatment arm the offer (deliver_offers, once the launch is committed: a big audience is
    a background job). Launching twice is refused (CampaignNotLaunchable); nothing is
    half-applied: the draw and the status change commit together."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    with transaction.atomic():
        run = _launch(campaign=campaign, actor=actor, at=at, day=day, source=source)
    if campaign.offer == Campaign.Offer.COUPON:
        from .tasks import deliver_offers_task

        # A broker outage must not fail the launch that has committed: it is logged and the
        # campaign stays 发放中 (launching) until the offer is delivered.
        transaction.on_commit(
            lambda: queueing.send(deliver_offers_task, campaign.pk, day.isoformat(),
                                  actor_id(actor))
        )  # fmt: skip
    else:
        # Listing members for a points rule is one INSERT: done here, in the launch's stead.
        deliver_offers(campaign=campaign, day=day, source=source, actor=actor, at=at)
    return run


def actor_id(actor):
    return getattr(actor, "pk", None)


def _launch(*, campaign, actor, at, day, source):
    locked = Campaign.objects.select_for_update().select_related("segment").get(pk=campaign.pk)
    if locked.status != Campaign.Status.DRAFT:
        # A second click, or two head-office users at once: the first launch stands.
        raise CampaignNotLaunchable(
            _("%(code)s is already %(status)s.")
            % {"code": locked.code, "status": locked.get_status_display()}
        )
    check_campaign(locked, today=day)
    definition = segments.clean_definition(locked.segment.definition)
    locked.frozen_definition = definition
    locked.frozen_hash = segments.definition_hash(definition)
    if locked.offer == Campaign.Offer.MULTIPLIER:
        once = locked.schedule == Campaign.Schedule.ONCE
        locked.earning_rule = create_targeted_multiplier(
            name=f"{locked.code} {locked.name}",
            multiplier=locked.multiplier,
            start_date=locked.offer_starts_on if once else day,
            end_date=(
                locked.offer_ends_on
                if once
                else (locked.ends_on or day + timedelta(days=3650))
                + timedelta(days=locked.offer_days - 1)
            ),
            source=source,
            actor=actor,
        )
    locked.status = (
        Campaign.Status.LAUNCHING
        if locked.offer == Campaign.Offer.COUPON
        else Campaign.Status.RUNNING
    )
    locked.launched_at = at
    locked.launched_by = actor
    run = _enrol(locked, day=day, at=at)
    _count(locked)
    locked.save()
    _copy(locked, campaign)
    return run


def _copy(source_obj, target):
    for field in Campaign._meta.concrete_fields:
        setattr(target, field.attname, getattr(source_obj, field.attname))


def _enrol(campaign, *, day, at) -> CampaignRun:
    """Enter today's members: the segment (as frozen) now, less the holdout, less members whose
    last entry is within the cool-down (a one-off campaign: less anyone already in), each with
    their bucket, arm and pre-period spend. One statement; a rerun adds only newcomers."""
    segment_sql, params = segments.members_sql(campaign.frozen_definition, at=at)
    holdout = holdout_for(day) if campaign.respect_holdout else None
    held = f"{bucket_sql('%s', 'seg.id')} < %s" if holdout else "false"
    held_params = [holdout.salt, holdout.buckets] if holdout else []
    table, sale = CampaignMember._meta.db_table, Sale._meta.db_table
    if campaign.schedule == Campaign.Schedule.DAILY:
        cooldown, cooldown_params = (
            "AND e.enrolled_on > %s",
            [day - timedelta(days=campaign.cooldown_days)],
        )
    else:
        cooldown, cooldown_params = "", []
    sql = f"""
        WITH seg AS ({segment_sql}),
        cand AS (
            SELECT seg.id, ({held}) AS held FROM seg
            WHERE NOT EXISTS (SELECT 1 FROM "{table}" e WHERE e.campaign_id = %s
                              AND e.member_id = seg.id {cooldown})
        ),
        ins AS (
            INSERT INTO "{table}" (campaign_id, member_id, enrolled_on, enrolled_at, arm, bucket,
                                   pre_spend)
            SELECT %s, a.id, %s, %s,
                   CASE WHEN a.b < %s THEN '{Arm.CONTROL}' ELSE '{Arm.TREATMENT}' END, a.b,
                   COALESCE(pre.spend, 0)
            FROM (SELECT cand.id, {bucket_sql("%s", "cand.id")} AS b
                  FROM cand WHERE NOT cand.held) a
            LEFT JOIN (
                SELECT s.member_id, sum(s.amount_due) AS spend FROM "{sale}" s
                WHERE s.created_at >= %s AND s.created_at < %s
                  AND s.member_id IN (SELECT cand.id FROM cand WHERE NOT cand.held)
                GROUP BY s.member_id
            ) pre ON pre.member_id = a.id
            ORDER BY a.id
            ON CONFLICT (campaign_id, member_id, enrolled_on) DO NOTHING
            RETURNING arm
        )
        SELECT (SELECT count(*) FROM cand WHERE held),
               (SELECT count(*) FROM ins WHERE arm = '{Arm.TREATMENT}'),
               (SELECT count(*) FROM ins WHERE arm = '{Arm.CONTROL}')
    """
    all_params = [
        *params,
        *held_params,
        campaign.pk,
        *cooldown_params,
        campaign.pk,
        day,
        at,
        campaign.control_buckets,
        campaign.salt,
        at - timedelta(days=PRE_DAYS),
        at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        held_out, treatment, control = cursor.fetchone()
    run, _created = CampaignRun.objects.get_or_create(campaign=campaign, day=day)
    run.entered += treatment + control
    run.treatment += treatment
    run.control += control
    run.held_out = held_out
    run.finished_at = timezone.now()
    run.save()
    return run


def _count(campaign):
    totals = campaign.runs.aggregate(
        treatment=Sum("treatment"),
        control=Sum("control"),
        issued=Sum("offers_issued"),
        refused=Sum("offers_refused"),
    )
    last = campaign.runs.order_by("-day").first()
    campaign.treatment = totals["treatment"] or 0
    campaign.control = totals["control"] or 0
    campaign.audience = campaign.treatment + campaign.control
    campaign.held_out = last.held_out if last else 0
    campaign.offers_issued = totals["issued"] or 0
    campaign.offers_refused = totals["refused"] or 0


def _treated_ids(campaign, day):
    return list(
        CampaignMember.objects.filter(campaign=campaign, enrolled_on=day, arm=Arm.TREATMENT)
        .order_by("member_id")
        .values_list("member_id", flat=True)
    )


def deliver_offers(*, campaign, day, source, actor=None, at=None):
    """Give the offer to the treatment members who entered on `day`, and only to them: coupons
    of the template for the campaign's occasion of that day (a rerun issues nothing twice), or
    the days of the points multiplier. Then a launching campaign is running. Returns how many
    members got the offer this time."""
    campaign = Campaign.objects.select_related("coupon_template", "earning_rule").get(
        pk=campaign.pk
    )
    if campaign.status not in (Campaign.Status.LAUNCHING, Campaign.Status.RUNNING,
                               Campaign.Status.FINISHED):  # fmt: skip
        raise CampaignNotRunning()
    given = refused = 0
    if campaign.offer == Campaign.Offer.COUPON:
        try:
            result = issue_coupons(
                template=campaign.coupon_template,
                members=_treated_ids(campaign, day),
                occasion=campaign.occasion(day),
                source=source,
                actor=actor,
                reference=campaign.code,
                at=at,
            )
        except CouponNotAvailable:
            # The template went inactive or past its dates since the launch: nobody gets it,
            # the run says so, the measurement stands (intention to treat).
            result = None
            refused = CampaignMember.objects.filter(
                campaign=campaign, enrolled_on=day, arm=Arm.TREATMENT
            ).count()
        if result is not None:
            given, refused = result.issued, result.refused_limit + result.refused_total
    else:
        rule = campaign.earning_rule
        once = campaign.schedule == Campaign.Schedule.ONCE
        starts = max(campaign.offer_starts_on, day) if once else day
        ends = campaign.offer_ends_on if once else day + timedelta(days=campaign.offer_days - 1)
        treated = Member.objects.filter(
            campaign_entries__campaign=campaign,
            campaign_entries__enrolled_on=day,
            campaign_entries__arm=Arm.TREATMENT,
        )
        given = list_rule_members(
            rule=rule, members=treated, starts_on=starts, ends_on=ends, source=source, actor=actor
        )
    with transaction.atomic():
        # The treatment arm is told of its offer (messaging applies consent, quiet hours and
        # the cap); the control arm is never in the audience.
        message_treatment(campaign=campaign, day=day, source=source, actor=actor, at=at)
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        run, _created = CampaignRun.objects.get_or_create(campaign=locked, day=day)
        run.offers_issued += given
        run.offers_refused = refused
        run.finished_at = timezone.now()
        run.save()
        _count(locked)
        if locked.status == Campaign.Status.LAUNCHING:
            locked.status = Campaign.Status.RUNNING
        locked.save()
    return given


def run_campaign_day(*, campaign, source, actor=None, at=None) -> CampaignRun:
    """One day of a running daily campaign: enter the segment's members not in their cool-down,
    assign them, give the treatment arm the offer. Idempotent for the day: a rerun enters only
    members who were not in yet, and issues nothing twice."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        live = (Campaign.Status.RUNNING, Campaign.Status.LAUNCHING)
        if locked.status not in live or locked.schedule != Campaign.Schedule.DAILY:
            raise CampaignNotRunning()
        if locked.ends_on and day > locked.ends_on:
            raise CampaignNotRunning(_("The last day of entry is past."))
        run = _enrol(locked, day=day, at=at)
        _count(locked)
        locked.save()
    deliver_offers(campaign=locked, day=day, source=source, actor=actor, at=at)
    run.refresh_from_db()
    return run


def run_daily_campaigns(*, source, actor=None, at=None):
    """Every morning: a day of each running daily campaign whose entry is still open. Returns
    the runs."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    runs = []
    due = Campaign.objects.filter(
        status__in=(Campaign.Status.RUNNING, Campaign.Status.LAUNCHING),
        schedule=Campaign.Schedule.DAILY,
    ).order_by("pk")
    for campaign in due:
        if campaign.ends_on and day > campaign.ends_on:
            continue
        runs.append(run_campaign_day(campaign=campaign, source=source, actor=actor, at=at))
    return runs


@transaction.atomic
def finish_campaign(*, campaign, source, actor=None, at=None) -> Campaign:
    """Stop a campaign: no one enters any more. Offers already given stand (coupons stay
    valid, listed points days run out); the report keeps measuring each member's window."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in (Campaign.Status.RUNNING, Campaign.Status.LAUNCHING):
        raise CampaignNotRunning()
    locked.status = Campaign.Status.FINISHED
    locked.finished_at = at or timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    _copy(locked, campaign)
    return locked


# --- planning ----------------------------------------------------------------------------------


def plan_campaign(*, segment, control_percent, measure_days, respect_holdout=True, at=None,
                  store_ids=None):  # fmt: skip
    """What a launch now would draw, for the launch form: the audience (after the holdout),
    the expected arms, the audience's spend per member over a window as long as the
    measurement window just before now (mean and standard deviation), and the smallest lift on
    sales per member the campaign could detect (5% two-sided, 80% power)."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    segment_sql, params = segments.members_sql(segment.definition, at=at, store_ids=store_ids)
    holdout = holdout_for(day) if respect_holdout else None
    held = f"{bucket_sql('%s', 'seg.id')} < %s" if holdout else "false"
    held_params = [holdout.salt, holdout.buckets] if holdout else []
    sale = Sale._meta.db_table
    sql = f"""
        WITH seg AS ({segment_sql}),
        a AS (SELECT seg.id FROM seg WHERE NOT ({held})),
        y AS (
            SELECT a.id, COALESCE((SELECT sum(s.amount_due) FROM "{sale}" s
                WHERE s.member_id = a.id AND s.created_at >= %s AND s.created_at < %s), 0) AS v
            FROM a
        )
        SELECT (SELECT count(*) FROM seg), count(*), COALESCE(sum(v), 0), COALESCE(sum(v * v), 0)
        FROM y
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *held_params, at - timedelta(days=measure_days), at])
        matched, n, total, squares = cursor.fetchone()
    total, squares = float(total), float(squares)
    mean = total / n if n else 0.0
    sd = lift.sd_from_sums(total, squares, n)
    share = float(Decimal(str(control_percent)) / 100)
    control = round(n * share)
    return {
        "matched": matched,
        "held_out": matched - n,
        "audience": n,
        "treatment": n - control,
        "control": control,
        "baseline_mean": mean,
        "baseline_sd": sd,
        "measure_days": measure_days,
        "mde": lift.minimum_detectable_lift(n=n, control_share=share, mean=mean, sd=sd),
    }
