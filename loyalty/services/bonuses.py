"""Bonus points: registration, birthday, holiday, referral. Referral is paid by the checkout on
the new member's first qualifying sale, holiday bonuses by a job over the day's shoppers (both
in sales, which knows who bought).

Each is paid at most once per member per occasion: the ledger key names the occasion, so a job
run twice, or a retried request, pays once.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from loyalty.ledger import open_account, post_points_entry
from loyalty.models import BonusRule, PointsEntry
from members.models import Member

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


def grant_birthday_bonuses(*, on=None, source, actor=None, chunk_size=1000) -> int:
    """Pay each active member whose birthday is `on` their tier's birthday bonus, once a year
    (key `bonus:birthday:<year>:<member>`). 29 February birthdays are paid on 28 February in
    other years. Chunked by member id. Returns how many were paid now."""
    on = on or timezone.localdate()
    days = Q(birthday__month=on.month, birthday__day=on.day)
    if on.month == 2 and on.day == 28 and not _leap(on.year):
        days |= Q(birthday__month=2, birthday__day=29)
    prefix = f"bonus:birthday:{on.year}:"
    members = (
        Member.objects.filter(days, status=Member.Status.ACTIVE, tier__birthday_bonus__gt=0)
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
                reason = f"{member.tier.name} birthday {on.year}"
                _pay(
                    member,
                    member.tier.birthday_bonus,
                    f"{prefix}{member.pk}",
                    reason,
                    source,
                    actor,
                )
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


def grant_referral_bonus(*, member, amount, store, reference, source, actor=None, at=None):
    """Referral: both sides once, on the new member's first sale whose amount reaches the
    rule's minimum. The caller holds the member's account lock.

    The referrer's account is locked after the member's; a referrer is never referred by the
    member they referred, so the two locks always come in this order. Returns the new member's
    own bonus entry when this call paid it (its balance is the one the till prints), else None.
    """
    at = at or timezone.now()
    rule = referral_rule(at)
    if rule is None or amount < rule.min_order_amount:
        return None
    expires_at = expires_at_for(at)
    referrer = Member.objects.get(pk=member.referrer_id)
    paid = None
    for who, points, side in (
        (member, rule.points, "new"),
        (referrer, rule.referrer_points, "ref"),
    ):
        if points:
            open_account(who)
            key = f"bonus:referral:{member.pk}:{side}"
            existing = PointsEntry.objects.filter(key=key).exists()
            entry = post_points_entry(
                member=who,
                points=points,
                kind=PointsEntry.Kind.BONUS,
                source=source,
                actor=actor,
                store=store,
                reason=rule.name,
                reference=reference,
                key=key,
                expires_at=expires_at,
                at=at,
            )
            if side == "new" and not existing:
                paid = entry
    return paid
