"""Bonus points: registration, birthday, holiday, referral. Referral is paid by the checkout on
the new member's first qualifying sale, holiday bonuses by a job over the day's shoppers (both
in sales, which knows who bought).

Each is paid at most once per member per occasion: the ledger key names the occasion, so a job
run twice, or a retried request, pays once.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from loyalty.ledger import open_account, post_points_entry, set_referral_paid
from loyalty.models import BonusRule, BonusRun, PointsEntry
from members.models import Member, Tier

from .rules import expires_at_for


def _rules(kind, day):
    return BonusRule.objects.filter(kind=kind, is_active=True).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=day),
        Q(end_date__isnull=True) | Q(end_date__gte=day),
    )


def _pay(member, points, key, reason, source, actor, store=None, at=None):
    open_account(member)
    at = at or timezone.now()
    return post_points_entry(
        member=member,
        points=points,
        kind=PointsEntry.Kind.BONUS,
        source=source,
        actor=actor,
        store=store,
        reason=reason,
        reference=key,
        key=key,
        expires_at=expires_at_for(at),
        at=at,
    )


@transaction.atomic
def grant_registration_bonus(*, member, source, actor=None, store=None, at=None):
    """The registration bonus in force on the day of joining (`at`, default today), once per
    member. Returns the entry or None."""
    day = timezone.localdate(at) if at else timezone.localdate()
    rule = _rules(BonusRule.Kind.REGISTRATION, day).order_by("-id").first()
    if rule is None or not rule.points:
        return None
    return _pay(
        member,
        rule.points,
        f"bonus:registration:{member.pk}",
        rule.name,
        source,
        actor,
        store,
        at=at,
    )


def _not_paid(key_prefix):
    """Members without a ledger entry keyed `<key_prefix><member id>` (cheap unique lookup)."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    return ~Exists(
        PointsEntry.objects.filter(key=Concat(Value(key_prefix), Cast(OuterRef("pk"), CharField())))
    )


# A job that never ran (or was off for long) catches up at most this far back: it pays late,
# not a year of old birthdays the day it is first switched on.
CATCH_UP_DAYS = 31


def bonus_day_done(job, day):
    return BonusRun.objects.filter(job=job, day=day).exists()


def mark_bonus_day_done(job, day, paid):
    """Record that `job` finished `day` (idempotent)."""
    BonusRun.objects.get_or_create(job=job, day=day, defaults={"paid": paid})


def days_to_catch_up(job, until):
    """The days up to and including `until` that `job` has not finished, oldest first: from the
    day after its last finished day (at most CATCH_UP_DAYS back), or just `until` if it never
    ran."""
    last = BonusRun.objects.filter(job=job, day__lte=until).order_by("-day").first()
    start = (
        until
        if last is None
        else max(last.day + timedelta(days=1), until - timedelta(days=CATCH_UP_DAYS))
    )
    return [start + timedelta(days=n) for n in range((until - start).days + 1)]


def grant_birthday_bonuses(*, on=None, source, actor=None, chunk_size=1000) -> int:
    """Birthday bonuses for every day not yet done up to `on` (today by default), so a day the
    scheduler missed is paid the next time the job runs. Returns how many were paid now."""
    on = on or timezone.localdate()
    paid = 0
    for day in days_to_catch_up("birthday", on):
        count = grant_birthday_bonuses_on(
            day=day, source=source, actor=actor, chunk_size=chunk_size
        )
        mark_bonus_day_done("birthday", day, count)
        paid += count
    return paid


def grant_birthday_bonuses_on(*, day, source, actor=None, chunk_size=1000) -> int:
    """Pay each active member whose birthday is `day` their tier's birthday bonus, once a year
    (key `bonus:birthday:<year>:<member>`); a member not yet placed in a tier gets the default
    tier's, as their sales earn as that tier. 29 February birthdays are paid on 28 February in
    other years. Chunked by member id. Returns how many were paid now."""
    days = Q(birthday__month=day.month, birthday__day=day.day)
    if day.month == 2 and day.day == 28 and not _leap(day.year):
        days |= Q(birthday__month=2, birthday__day=29)
    prefix = f"bonus:birthday:{day.year}:"
    default = Tier.objects.filter(is_default=True).first()
    with_bonus = Q(tier__birthday_bonus__gt=0)
    if default is not None and default.birthday_bonus > 0:
        with_bonus |= Q(tier__isnull=True)
    members = (
        Member.objects.filter(days, with_bonus, status=Member.Status.ACTIVE)
        .filter(_not_paid(prefix))
        .select_related("tier")
        .order_by("pk")
    )
    paid, last = 0, 0
    while True:
        batch = list(members.filter(pk__gt=last)[:chunk_size])
        if not batch:
            return paid
        with transaction.atomic():
            for member in batch:
                tier = member.tier or default
                reason = f"{tier.name} birthday {day.year}"
                _pay(member, tier.birthday_bonus, f"{prefix}{member.pk}", reason, source, actor)
                paid += 1
        last = batch[-1].pk


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def holiday_rules(on):
    """The holiday bonus rules for day `on`."""
    return _rules(BonusRule.Kind.HOLIDAY, on).filter(holiday=on)


def holiday_bonus_key(rule, member_id):
    return f"bonus:holiday:{rule.pk}:{member_id}"


def members_without(key_prefix, members):
    """`members` (a queryset) less those already paid the bonus keyed `<prefix><member id>`."""
    return members.filter(_not_paid(key_prefix))


@transaction.atomic
def grant_holiday_bonus(*, rule, member, source, actor=None):
    """One member's holiday bonus under `rule`, once (key `bonus:holiday:<rule>:<member>`)."""
    return _pay(member, rule.points, holiday_bonus_key(rule, member.pk), rule.name, source, actor)


def referral_rule(at):
    """The referral bonus rule in force on the (Shanghai) day of `at`, or None."""
    day = timezone.localtime(at).date()  # rule dates are Shanghai days, not UTC days
    return _rules(BonusRule.Kind.REFERRAL, day).order_by("-id").first()


def referral_due(*, member, account, amount, at):
    """The referral rule to pay on this sale of `member`, or None: the member names a
    referrer, has not been paid (the account's flag, read under its lock), and the sale's
    amount reaches the rule's minimum."""
    if not member.referrer_id or account.referral_paid:
        return None
    rule = referral_rule(at)
    if rule is None or amount < rule.min_order_amount or not (rule.points or rule.referrer_points):
        return None
    return rule


def _referral_key(member_id, side, occasion):
    return f"bonus:referral:{member_id}:{side}:{occasion}"


@transaction.atomic
def grant_referral_bonus(*, member, rule, occasion, store, reference, source, actor=None, at=None):
    """Pay the referral bonus of `rule` to both sides, for the qualifying sale `occasion`
    (store and receipt), and remember on the member's account that it is paid.

    The caller holds both accounts' locks, taken in account-id order (the referrer's account is
    older). Keyed per side and occasion: a retry pays nothing twice. Returns the new member's
    own entry (its balance is the one the till prints), or None if that side gets no points.
    """
    at = at or timezone.now()
    expires_at = expires_at_for(at)
    referrer = Member.objects.get(pk=member.referrer_id)
    own = None
    sides = ((member, rule.points, "new"), (referrer, rule.referrer_points, "ref"))
    for who, points, side in sides:
        if points:
            entry = post_points_entry(
                member=who,
                points=points,
                kind=PointsEntry.Kind.BONUS,
                source=source,
                actor=actor,
                store=store,
                reason=rule.name,
                reference=reference,
                key=_referral_key(member.pk, side, occasion),
                expires_at=expires_at,
                at=at,
            )
            own = entry if side == "new" else own
    set_referral_paid(member_id=member.pk, paid=True)
    return own


@transaction.atomic
def reverse_referral_bonus(*, member, occasion, store, reference, source, actor=None, at=None):
    """Take back both sides of the referral bonus paid for `occasion`, openly (a BONUS_REVERSAL
    entry each, from the lots the bonus made first), when its qualifying sale was wholly
    refunded; points already spent leave a debt, as any refund does. The member's next
    qualifying sale may earn it again. Returns the new member's reversal entry, or None."""
    own = None
    for side in ("new", "ref"):
        paid = PointsEntry.objects.filter(key=_referral_key(member.pk, side, occasion)).first()
        if paid is None:
            continue
        entry = post_points_entry(
            member=member if side == "new" else Member(pk=member.referrer_id),
            points=-paid.points,
            kind=PointsEntry.Kind.BONUS_REVERSAL,
            source=source,
            actor=actor,
            store=store,
            reason=paid.reason,
            reference=reference,
            key=f"{paid.key}:reversal",
            reverses=paid,
            allow_negative=True,
            prefer_lot_ids=set(paid.lots.values_list("id", flat=True)),
            at=at,
        )
        own = entry if side == "new" else own
    set_referral_paid(member_id=member.pk, paid=False)
    return own
