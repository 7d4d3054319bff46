"""Targeted promotions: an earning rule (a points multiplier for some days) that only the members
listed for it earn by, such as a campaign's treatment arm. The points themselves are earned at
the checkout by the ordinary earning engine and written by loyalty.ledger, so they show in the
sale's breakdown, count for tiers, expire and are taken back by refunds like any other points;
nothing here touches a balance.
"""

from decimal import Decimal

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.history import note
from loyalty.exceptions import InvalidRule
from loyalty.models import EarningRule, EarningRuleMember


@transaction.atomic
def create_targeted_multiplier(
    *, name, multiplier, start_date, end_date, source, actor=None, priority=0
) -> EarningRule:
    """A multiplier rule ("double points") from `start_date` to `end_date` (inclusive) that
    applies only to the members later listed for it (list_rule_members)."""
    errors = {}
    try:
        multiplier = Decimal(multiplier)
    except (TypeError, ArithmeticError, ValueError):
        multiplier = None
    if multiplier is None or not Decimal("1") < multiplier <= Decimal("10"):
        errors["multiplier"] = [_("A multiplier above 1 and at most 10, e.g. 2.00.")]
    if not start_date or not end_date:
        errors["end_date"] = [_("A promotion needs its first and last day.")]
    elif end_date < start_date:
        errors["end_date"] = [_("The last day is before the first.")]
    if errors:
        raise InvalidRule(fields=errors)
    rule = EarningRule(
        name=name[:60],
        kind=EarningRule.Kind.MULTIPLIER,
        multiplier=multiplier,
        start_date=start_date,
        end_date=end_date,
        priority=priority,
        targeted=True,
        is_active=True,
    )
    note(rule, actor=actor, source=source, reason=_("Targeted promotion"))
    rule.save()
    return rule


def list_rule_members(*, rule, members, starts_on, ends_on, source, actor=None) -> int:
    """List `members` (a queryset, or member ids) for the targeted `rule` from `starts_on` to
    `ends_on`, set-based. A member listed before keeps their days unless those are over (a
    campaign that enrols them again after its cool-down gives them new days); a rerun changes
    nothing. Returns how many rows were written."""
    if not rule.targeted:
        raise InvalidRule(_("Only a targeted rule lists members."))
    if ends_on < starts_on:
        raise InvalidRule(fields={"ends_on": [_("The last day is before the first.")]})
    if hasattr(members, "query"):
        sql, params = members.order_by().values("pk").query.sql_with_params()
        source_sql = f"SELECT s.id FROM ({sql}) s(id)"
    else:
        ids = sorted({getattr(m, "pk", m) for m in members})
        source_sql, params = "SELECT unnest(%s::bigint[])", [ids]
    table = EarningRuleMember._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (rule_id, member_id, starts_on, ends_on) '
            f"SELECT %s, m.id, %s, %s FROM ({source_sql}) m(id) ORDER BY m.id "
            f"ON CONFLICT (rule_id, member_id) DO UPDATE SET starts_on = EXCLUDED.starts_on, "
            f'ends_on = EXCLUDED.ends_on WHERE "{table}".ends_on < EXCLUDED.starts_on',
            [rule.pk, starts_on, ends_on, *params],
        )
        return cursor.rowcount
