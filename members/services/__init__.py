"""Every write to members and their stored value. One module per area; import from here."""

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
from .wallet import pay_with_stored_value, refund_stored_value

__all__ = [
    "change_members_tier",
    "ensure_member_active",
    "find_member",
    "generate_card_batch",
    "open_member",
    "pay_with_stored_value",
    "refund_stored_value",
    "report_card_lost_and_replace",
    "set_members_status",
    "tag_members",
    "update_member_profile",
]
