"""Every write to members, cards and tiers. One module per area; import from here."""

from .consent import (
    bulk_record_consent,
    marketing_consent_of,
    record_consent,
    withdraw_consent,
)
from .members import (
    add_visit,
    change_members_tier,
    change_tier,
    ensure_member_active,
    find_member,
    generate_card_batch,
    log_tier_change,
    move_member_tier,
    open_member,
    report_card_lost_and_replace,
    set_members_status,
    tag_members,
    update_member_profile,
)

__all__ = [
    "add_visit",
    "bulk_record_consent",
    "marketing_consent_of",
    "record_consent",
    "withdraw_consent",
    "change_members_tier",
    "change_tier",
    "ensure_member_active",
    "find_member",
    "generate_card_batch",
    "log_tier_change",
    "move_member_tier",
    "open_member",
    "report_card_lost_and_replace",
    "set_members_status",
    "tag_members",
    "update_member_profile",
]
