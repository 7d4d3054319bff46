"""What every till view that names a member shares (the views live in the apps above)."""

from members import services as member_services


def resolve_member(ref):
    """The active member a till names: 404 member_not_found, 403 member_inactive."""
    member = member_services.find_member(**{k: v for k, v in ref.items() if v})
    member_services.ensure_member_active(member)
    return member
