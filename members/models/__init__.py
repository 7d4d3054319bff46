# One module per aggregate; import every model here so Django and callers find them.
from .cards import Card, CardBatch
from .imports import ImportJob
from .member import Member, NumberSequence, Tag, mask_phone
from .wallet import Wallet, WalletEntry

__all__ = [
    "Card",
    "CardBatch",
    "ImportJob",
    "Member",
    "NumberSequence",
    "Tag",
    "Wallet",
    "WalletEntry",
    "mask_phone",
]
