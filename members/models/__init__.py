# One module per aggregate; import every model here so Django and callers find them.
from .count_cards import CountCardEntry, CountCardPackage, MemberCountCard
from .member import Member, Tag, mask_phone
from .wallet import RechargePlan, Transfer, Wallet, WalletEntry, WithdrawalRequest

__all__ = [
    "CountCardEntry",
    "CountCardPackage",
    "Member",
    "MemberCountCard",
    "RechargePlan",
    "Tag",
    "Transfer",
    "Wallet",
    "WalletEntry",
    "WithdrawalRequest",
    "mask_phone",
]
