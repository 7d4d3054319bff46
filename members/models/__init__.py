# One module per aggregate; import every model here so Django and callers find them.
from .member import Member, Tag, mask_phone
from .wallet import Wallet, WalletEntry

__all__ = ["Member", "Tag", "Wallet", "WalletEntry", "mask_phone"]
