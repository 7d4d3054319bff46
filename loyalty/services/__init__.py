"""Every write to points, tiers, sales and rules. Points always end in loyalty.ledger."""

from loyalty.ledger import expire_points

from .adjustments import adjust_points, approve_adjustment, reject_adjustment
from .bonuses import grant_birthday_bonuses, grant_holiday_bonuses, grant_registration_bonus
from .gifts import redeem_gift
from .opening import grant_opening_points
from .sales import post_sale, quote_sale, refund_sale
from .tiers import change_tier, review_tiers

__all__ = [
    "adjust_points",
    "approve_adjustment",
    "change_tier",
    "expire_points",
    "grant_birthday_bonuses",
    "grant_holiday_bonuses",
    "grant_opening_points",
    "grant_registration_bonus",
    "post_sale",
    "quote_sale",
    "redeem_gift",
    "refund_sale",
    "reject_adjustment",
    "review_tiers",
]
