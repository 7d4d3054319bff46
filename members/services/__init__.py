"""Every write to members and their stored value. One module per area; import from here."""

from .count_cards import (
    expire_count_cards,
    renew_count_card,
    sell_count_card,
    use_count_card_visit,
)
from .wallet import (
    active_recharge_plans,
    adjust_stored_value,
    approve_withdrawal,
    pay_with_stored_value,
    recharge_wallet,
    refund_stored_value,
    reject_withdrawal,
    request_withdrawal,
    transfer_stored_value,
)

__all__ = [
    "active_recharge_plans",
    "adjust_stored_value",
    "approve_withdrawal",
    "expire_count_cards",
    "pay_with_stored_value",
    "recharge_wallet",
    "refund_stored_value",
    "reject_withdrawal",
    "renew_count_card",
    "request_withdrawal",
    "sell_count_card",
    "transfer_stored_value",
    "use_count_card_visit",
]
