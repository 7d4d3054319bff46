# One module per aggregate; import every model here so Django and callers find them.
from .cards import Card, CardBatch
from .imports import ImportJob
from .member import Member, Tag, mask_phone
from .tiers import Tier, TierChange

__all__ = [
    "Card",
    "CardBatch",
    "ImportJob",
    "Member",
    "Tag",
    "Tier",
    "TierChange",
    "mask_phone",
]
