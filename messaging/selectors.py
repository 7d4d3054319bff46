"""Reusable reads of messaging."""

from members.models import Member

from .models import Channel, Dispatch, Message


def orphan_messages():
    """Ids of messages whose member or dispatch does not exist (the database keeps no foreign
    key for them: see Message.member). Empty unless something wrote around the services."""
    return list(
        Message.objects.exclude(member_id__in=Member.objects.values("pk"))
        .union(Message.objects.exclude(dispatch_id__in=Dispatch.objects.values("pk")))
        .values_list("pk", flat=True)
    )


def last_messages(member, limit=10):
    return Message.objects.filter(member=member).order_by("-id")[:limit]


def inbox_of(member):
    """The member's inbox (the member centre shows it), newest first."""
    return Message.objects.filter(
        member=member, channel=Channel.INBOX, status=Message.Status.DELIVERED
    ).order_by("-created_at", "-id")
