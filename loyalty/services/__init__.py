"""Every write to points and their rules. Points always end in loyalty.ledger."""

from loyalty.ledger import expire_points

from .adjustments import adjust_points, approve_adjustment, reject_adjustment
from .bonuses import (
    grant_birthday_bonuses,
    grant_holiday_bonus,
    grant_referral_bonus,
    grant_registration_bonus,
)
from .gifts import redeem_gift
from .opening import (
    grant_opening_points,
    open_accounts_for_imported_members,
    open_points_for_new_member,
)
from .promotions import create_targeted_multiplier, list_rule_members
from .tiers import review_tiers, upgrade_for

__all__ = [
    "adjust_points",
    "approve_adjustment",
    "create_targeted_multiplier",
    "expire_points",
    "grant_birthday_bonuses",
    "grant_holiday_bonus",
    "grant_opening_points",
    "grant_referral_bonus",
    "grant_registration_bonus",
    "list_rule_members",
    "open_accounts_for_imported_members",
    "open_points_for_new_member",
    "redeem_gift",
    "reject_adjustment",
    "review_tiers",
    "upgrade_for",
]
