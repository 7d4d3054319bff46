"""Points: accounts, the ledger and its lots, tier progress, the rules, adjustments and gifts.
One module per aggregate; import from here."""

from .adjustments import PointsAdjustment
from .gifts import Gift, GiftRedemption, GiftStock
from .ledger import LotConsumption, PointsAccount, PointsEntry, PointsLot, TierProgress
from .rules import (
    BonusRule,
    BonusRun,
    EarningRule,
    EarningRuleMember,
    ExpiryPolicy,
    RedemptionRule,
    RuleBookVersion,
)

__all__ = [
    "BonusRule",
    "BonusRun",
    "EarningRule",
    "EarningRuleMember",
    "ExpiryPolicy",
    "Gift",
    "GiftRedemption",
    "GiftStock",
    "LotConsumption",
    "PointsAccount",
    "PointsAdjustment",
    "PointsEntry",
    "PointsLot",
    "RedemptionRule",
    "RuleBookVersion",
    "TierProgress",
]
