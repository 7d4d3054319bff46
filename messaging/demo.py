"""Demo messaging for `seed_demo`: most demo members agreed to marketing (by SMS; a few by
WeChat too, with an openid bound), a few unsubscribed by replying TD, and every message goes
through the console backend (stored, shown in the admin's message log, never sent).

Idempotent: consent is recorded only where the member has none, openids are fixed.
"""

from django.utils import timezone

from core.models import Source
from members.models import Consent, ConsentChannel, ConsentDoor, Member
from members.services.consent import bulk_record_consent, withdraw_consent

from . import rules
from .models import Purpose, WechatBinding
from .services import bind_wechat, send_due_messages

# Of every 20 members: 17 agreed to SMS marketing, 4 of them to WeChat as well (openid bound),
# 1 of the 17 later replied TD; 3 never agreed.
NEVER, WECHAT, UNSUBSCRIBED = {3, 11, 18}, {0, 5, 10, 15}, {7}


def give_consent(members, *, door, at=None):
    """The demo's consent pattern for `members` (a list, by their order)."""
    at = at or timezone.now()
    had = set(Consent.objects.filter(member__in=members).values_list("member_id", flat=True))
    fresh = [m for m in members if m.pk not in had]
    agreed = [m.pk for i, m in enumerate(fresh) if i % 20 not in NEVER]
    bulk_record_consent(member_ids=agreed, channel=ConsentChannel.SMS, granted=True, door=door,
                        source=Source.COMMAND, at=at)  # fmt: skip
    on_wechat = [m for i, m in enumerate(fresh) if i % 20 in WECHAT]
    bulk_record_consent(member_ids=[m.pk for m in on_wechat], channel=ConsentChannel.WECHAT,
                        granted=True, door=door, source=Source.COMMAND, at=at)  # fmt: skip
    for member in on_wechat:
        if not WechatBinding.objects.filter(member=member).exists():
            bind_wechat(member=member, openid=f"demo-openid-{member.member_no}",
                        source=Source.COMMAND)  # fmt: skip
    for i, member in enumerate(fresh):
        if i % 20 in UNSUBSCRIBED:
            withdraw_consent(member=member, channel=ConsentChannel.SMS,
                             door=ConsentDoor.SMS_REPLY, source=Source.COMMAND, at=at)  # fmt: skip


def seed_members(ctx):
    """Consent for the demo members the till opened (members.demo)."""
    from members.demo import demo_phone

    count = int(ctx.get("members") or 0)
    members = list(
        Member.objects.filter(phone__in=[demo_phone(i) for i in range(count)]).order_by("pk")
    )
    give_consent(members, door=ConsentDoor.TILL)


def send_as_of(at):
    """Send what a campaign run at `at` queued, as the sender would have then: at once, and
    marketing held by quiet hours at the end of them; never later than now (what waits for
    tomorrow morning stays queued for the sender)."""
    now = timezone.now()
    for moment in (at, rules.release_at(at, Purpose.MARKETING)):
        if moment <= now:
            send_due_messages(now=moment)
