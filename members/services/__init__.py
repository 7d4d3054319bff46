"""Every write to members and their stored value. One module per area; import from here."""

from .count_cards import (
    expire_count_cards,
    renew_count_card,
    sell_count_card,
    use_count_card_visit,
)
from .members import (
    change_members_tier,
    ensure_member_active,
    find_member,
    generate_card_batch,
    open_member,
    report_card_lost_and_replace,
    set_members_status,
    tag_members,
    update_member_profile,
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
    "change_members_tier",
    "ensure_member_active",
    "expire_count_cards",
    "find_member",
    "generate_card_batch",
    "open_member",
    "pay_with_stored_value",
    "recharge_wallet",
    "refund_stored_value",
    "reject_withdrawal",
    "renew_count_card",
    "report_card_lost_and_replace",
    "request_withdrawal",
    "sell_count_card",
    "set_members_status",
    "tag_members",
    "transfer_stored_value",
    "update_member_profile",
    "use_count_card_visit",
]
