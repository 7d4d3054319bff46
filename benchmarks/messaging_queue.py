"""Queue a campaign's message to 1,000,000 members: set-based (messaging.services.queue_messages,
one INSERT … SELECT that decides each member's channel from consent, unsubscribes, the weekly
cap and the openid, and writes the SMS and the inbox copy) against the naive per-member loop
(per member, one transaction: read the member, their consent per channel, their openid, count
their marketing pushes of the week, look for a message of this occasion, create the SMS and the
inbox copy through the ORM) on a sample, in the same run. Target (issue 23): the million in at
most 60 s.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/messaging_queue.py \
        [--members 1000000] [--sample 2000]

Runs in a scratch database `<db>_messaging` next to the one in DATABASE_URL (dropped, created
and migrated first). Members are generated set-based in SQL (generate_series), as the coupons
benchmark does; 90% of them agreed to marketing SMS, 10% of those to WeChat with an openid, 2%
unsubscribed.
"""

import argparse
import functools
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import fresh_database  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001  (progress as it happens)

if "--help" not in sys.argv and "-h" not in sys.argv:
    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_messaging"))

import django  # noqa: E402

django.setup()

from coupons_issue import generate_members  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.sql import insert_select_sql  # noqa: E402
from members.models import Consent, ConsentRecord, Member  # noqa: E402
from messaging.models import Dispatch, Kind, Message, WechatBinding  # noqa: E402
from messaging.services import queue_for_members  # noqa: E402
from stores.models import Store  # noqa: E402


def generate_consent():
    """Consent records and states for the generated members, set-based: SMS for 90%, WeChat
    (with an openid) for one in ten of those, withdrawn SMS for 2%."""
    now = timezone.now()
    with connection.cursor() as cursor:
        for channel, condition, granted in (
            ("sms", "m.id %% 10 <> 0", True),
            ("wechat", "m.id %% 10 = 1", True),
            ("sms", "m.id %% 50 = 0", False),
        ):
            sql, params = insert_select_sql(
                ConsentRecord,
                select_from=f'"{Member._meta.db_table}" m WHERE {condition}',
                expressions={"member_id": "m.id"},
                constants={"channel": channel, "purpose": "marketing", "granted": granted,
                           "door": "import", "text": "同意", "text_version": "2026-01",
                           "source": "command", "created_at": now},
            )  # fmt: skip
            cursor.execute(sql + " ON CONFLICT DO NOTHING", params)
        sql, params = insert_select_sql(
            Consent,
            select_from=(
                f'(SELECT DISTINCT ON (r.member_id, r.channel) r.* FROM '
                f'"{ConsentRecord._meta.db_table}" r ORDER BY r.member_id, r.channel, r.id DESC) r'
            ),
            expressions={"member_id": "r.member_id", "channel": "r.channel",
                         "purpose": "r.purpose", "granted": "r.granted", "door": "r.door",
                         "changed_at": "r.created_at", "record_id": "r.id"},
        )  # fmt: skip
        cursor.execute(sql, params)
        sql, params = insert_select_sql(
            WechatBinding,
            select_from=f'"{Member._meta.db_table}" m WHERE m.id %% 10 = 1',
            expressions={"member_id": "m.id", "openid": "'o' || m.id"},
            constants={"bound_at": now},
        )
        cursor.execute(sql, params)
        for model in (ConsentRecord, Consent, WechatBinding):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def naive_queue(member_ids, occasion):
    """The per-member loop: what a first version written with the ORM would do."""
    dispatch = Dispatch.objects.create(occasion=occasion, kind=Kind.CAMPAIGN_OFFER,
                                       purpose="marketing", source="command")  # fmt: skip
    now = timezone.now()
    for member_id in member_ids:
        with transaction.atomic():
            member = Member.objects.get(pk=member_id)
            if member.status != Member.Status.ACTIVE:
                continue
            consent = dict(Consent.objects.filter(member=member, purpose="marketing")
                           .values_list("channel", "granted"))  # fmt: skip
            openid = WechatBinding.objects.filter(member=member).values_list("openid", flat=True)
            openid = openid.first()
            recent = Message.objects.filter(
                member=member, purpose="marketing", created_at__gte=now - timedelta(days=7)
            ).exclude(channel="inbox").count()
            channel = None
            if consent.get("wechat") is True and openid:
                channel, to = "wechat", openid
            elif consent.get("sms") is True:
                channel, to = "sms", member.phone
            if (channel and recent < settings.MESSAGING_WEEKLY_CAP
                    and not Message.objects.filter(dispatch=dispatch, member=member,
                                                   channel=channel).exists()):  # fmt: skip
                    Message.objects.create(dispatch=dispatch, member=member, channel=channel,
                                           kind=dispatch.kind, purpose="marketing",
                                           recipient=to, created_at=now)  # fmt: skip
            if not Message.objects.filter(dispatch=dispatch, member=member,
                                          channel="inbox").exists():  # fmt: skip
                Message.objects.create(dispatch=dispatch, member=member, channel="inbox",
                                       kind=dispatch.kind, purpose="marketing",
                                       created_at=now)  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    print(f"database: {connection.settings_dict['NAME']}")
    store = Store.objects.create(code="BENCH1", name="压测门店")
    started = time.perf_counter()
    generate_members(args.members, store)
    generate_consent()
    print(f"members and consent generated: {args.members:,} in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    ids = list(Member.objects.order_by("pk").values_list("pk", flat=True)[: args.sample])
    started = time.perf_counter()
    naive_queue(ids, "bench:naive")
    naive_seconds = time.perf_counter() - started
    naive_rate = len(ids) / naive_seconds
    print(f"naive per-member loop: {len(ids):,} members in {naive_seconds:.1f} s "
          f"({naive_rate:,.0f} members/s; a million would take "
          f"{1e6 / naive_rate / 60:.0f} min)")  # fmt: skip

    at = timezone.now().replace(hour=3)  # in Shanghai: 11:00 (not in quiet hours)
    started = time.perf_counter()
    dispatch = queue_for_members(occasion="bench:campaign", kind=Kind.CAMPAIGN_OFFER,
                                 members=Member.objects.all(), source="command",
                                 params={"coupon": "满60减15券"}, at=at)  # fmt: skip
    seconds = time.perf_counter() - started
    rate = args.members / seconds
    print(f"set-based queue_messages: {args.members:,} members in {seconds:.1f} s "
          f"({rate:,.0f} members/s): queued {dispatch.queued}, "
          f"left out {dispatch.excluded}")  # fmt: skip
    print(f"ratio: {rate / naive_rate:.0f}x the naive loop")
    verdict = "met" if seconds <= 60 else "MISSED"
    print(f"target: {args.members:,} members in <= 60 s: {verdict}")

    started = time.perf_counter()
    again = queue_for_members(occasion="bench:campaign", kind=Kind.CAMPAIGN_OFFER,
                              members=Member.objects.all(), source="command", at=at)  # fmt: skip
    print(f"rerun of the same occasion: {sum(again.queued.values()):,} more rows "
          f"(queued counts are cumulative: {again.queued}), {again.excluded.get('already', 0):,} "
          f"already sent, in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"messages in the table: {Message.objects.count():,}", flush=True)


if __name__ == "__main__":
    main()
