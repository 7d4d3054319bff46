"""Bonus points: registration, birthday, holiday, referral (referral is paid in post_sale).

Each is paid at most once per member per occasion: the ledger key names the occasion, so a job
run twice, or a retried request, pays once.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from loyalty.ledger import open_account, post_points_entry
from loyalty.models import BonusRule, PointsEntry, Sale
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
def grant_registration_bonus(*, member, source, actor=None, store=None):
    """The registration bonus in force today, once per member. Returns the entry or None."""
    rule = _rules(BonusRule.Kind.REGISTRATION, timezone.localdate()).order_by("-id").first()
    if rule is None or not rule.points:
        return None
    return _pay(
        member, rule.points, f"bonus:registration:{member.pk}", rule.name, source, actor, store
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


def grant_holiday_bonuses(*, on=None, source, actor=None) -> int:
    """Holiday bonus: members who shopped on a holiday (a bonus rule's date) get its points
    once (key `bonus:holiday:<rule>:<member>`). Run the night after. Returns how many paid."""
    on = on or timezone.localdate()
    paid = 0
    for rule in _rules(BonusRule.Kind.HOLIDAY, on).filter(holiday=on):
        start = timezone.make_aware(timezone.datetime.combine(on, timezone.datetime.min.time()))
        end = start + timezone.timedelta(days=1)
        prefix = f"bonus:holiday:{rule.pk}:"
        shoppers = (
            Member.objects.filter(
                Exists(
                    Sale.objects.filter(
                        member=OuterRef("pk"), created_at__gte=start, created_at__lt=end
                    )
                )
            )
            .filter(_not_paid(prefix))
            .order_by("pk")
        )
        for member in shoppers.iterator(chunk_size=1000):
            with transaction.atomic():
                _pay(member, rule.points, f"{prefix}{member.pk}", rule.name, source, actor)
            paid += 1
    return paid
