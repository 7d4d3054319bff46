# One module per aggregate; import every model here so Django and callers find them.
from .cards import Card, CardBatch
from .count_cards import CountCardEntry, CountCardPackage, MemberCountCard
from .imports import ImportJob
from .member import Member, NumberSequence, Tag, mask_phone
from .wallet import RechargePlan, Transfer, Wallet, WalletEntry, WithdrawalRequest

__all__ = [
    "Card",
    "CardBatch",
    "CountCardEntry",
    "CountCardPackage",
    "ImportJob",
    "Member",
    "MemberCountCard",
    "NumberSequence",
    "RechargePlan",
    "Tag",
    "Transfer",
    "Wallet",
    "WalletEntry",
    "WithdrawalRequest",
    "mask_phone",
]
