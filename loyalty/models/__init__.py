"""Points and tiers. One module per aggregate; import from here."""

from .gifts import Gift, GiftRedemption, GiftStock
from .ledger import LotConsumption, PointsAccount, PointsEntry, PointsLot, Tier
from .rules import BonusRule, EarningRule, ExpiryPolicy, RedemptionRule, RuleBookVersion
from .sales import Refund, RefundLine, Sale, SaleLine
from .tiers import PointsAdjustment, TierChange

__all__ = [
    "BonusRule",
    "EarningRule",
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
    "Refund",
    "RefundLine",
    "Sale",
    "SaleLine",
    "Tier",
    "TierChange",
]
