"""Messages keep no database foreign key to their member and dispatch (for the speed of
queueing a million): the guard that finds a message without either, shown failing on one."""

from django.db import connection

from core.models import Source
from messaging.models import Kind, Message
from messaging.selectors import inbox_of, orphan_messages
from messaging.services import queue_for_members

from .conftest import MORNING, members_qs


def test_every_queued_message_has_its_member_and_dispatch(consenting):
    queue_for_members(occasion="c:1", kind=Kind.CAMPAIGN_OFFER, members=members_qs(consenting),
                      source=Source.TASK, params={"coupon": "券"}, at=MORNING)  # fmt: skip
    assert Message.objects.count() == 2
    assert orphan_messages() == []
    assert [m.channel for m in inbox_of(consenting)] == ["inbox"]


def test_the_guard_finds_a_message_written_around_the_services(consenting):
    queue_for_members(occasion="c:1", kind=Kind.CAMPAIGN_OFFER, members=members_qs(consenting),
                      source=Source.TASK, at=MORNING)  # fmt: skip
    sms = Message.objects.get(channel="sms")
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{Message._meta.db_table}" SET member_id = %s WHERE id = %s',
                       [sms.member_id + 10_000_000, sms.pk])  # fmt: skip
    assert orphan_messages() == [sms.pk]
