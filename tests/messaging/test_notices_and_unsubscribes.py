"""Service notices (points expiring, stored-value changes, tier upgrades, verification codes):
their own opt-out, never an offer, no quiet hours; the unsubscribe link and the provider's
unsubscribe list; the preview before a campaign."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook

from core.models import Source
from members.models import Consent, ConsentChannel, ConsentDoor, ConsentPurpose, Member
from members.services.consent import record_consent, withdraw_consent
from messaging.models import Kind, Message
from messaging.services import (
    import_unsubscribe_list,
    notify_points_expiring,
    preview,
    queue_ledger_notices,
    send_due_messages,
    send_verification_code,
    unsubscribe_token,
    unsubscribe_url,
)
from messaging.wording import check_template

from .conftest import MORNING, NIGHT, agree, members_qs

Status = Message.Status


def test_points_expiring_are_announced_once_per_date(make_member, tiers):
    from loyalty.services import grant_opening_points

    member = make_member()
    grant_opening_points(member=member, points=300, source="import",
                         expires_at=MORNING + timedelta(days=3))  # fmt: skip

    notify_points_expiring(source=Source.TASK, at=MORNING, days=7)
    notify_points_expiring(source=Source.TASK, at=MORNING + timedelta(days=1), days=7)
    send_due_messages(now=MORNING + timedelta(days=1))

    sms = Message.objects.get(member=member, channel="sms")
    assert sms.kind == Kind.POINTS_EXPIRING and sms.status == Status.SENT
    assert "300" in sms.body and (MORNING + timedelta(days=3)).strftime("%Y-%m-%d") in sms.body


def test_a_service_notice_needs_no_marketing_consent_but_honours_its_opt_out(make_member):
    from wallet.services import recharge_wallet

    plain, opted_out = make_member(), make_member()
    withdraw_consent(member=opted_out, channel=ConsentChannel.SMS, door=ConsentDoor.ADMIN,
                     source=Source.ADMIN, purpose=ConsentPurpose.SERVICE)  # fmt: skip
    for member in (plain, opted_out):
        recharge_wallet(member=member, amount=Decimal("100.00"), store=member.home_store,
                        source=Source.TILL, reference=f"R{member.pk}")  # fmt: skip

    queue_ledger_notices(source=Source.TASK)
    queue_ledger_notices(source=Source.TASK)  # the next minute sees the same rows: no more
    send_due_messages()

    assert Message.objects.filter(member=plain, channel="sms", status=Status.SENT).count() == 1
    assert not Message.objects.filter(member=opted_out, channel="sms").exists()
    body = Message.objects.get(member=plain, channel="sms").body
    assert "100.00" in body and "退订" not in body


def test_a_service_notice_is_not_held_by_quiet_hours(make_member):
    member = make_member()
    from messaging.services import queue_for_members

    queue_for_members(occasion="test:notice", kind=Kind.TIER_UPGRADE, members=members_qs(member),
                      source=Source.TASK, params={"tier": "金卡会员"}, at=NIGHT)  # fmt: skip
    send_due_messages(now=NIGHT)
    assert Message.objects.get(member=member, channel="sms").status == Status.SENT


def test_a_notice_template_may_not_carry_an_offer_and_marketing_must_say_how_to_stop():
    assert check_template(Kind.POINTS_EXPIRING, "sms", "送您{coupon}") == ["marketing_in_notice"]
    assert check_template(Kind.CAMPAIGN_OFFER, "sms", "送您{coupon}") == ["unsubscribe"]
    assert check_template(Kind.CAMPAIGN_OFFER, "sms", "送您{coupon}。回T退订") == []
    assert check_template(Kind.CAMPAIGN_OFFER, "sms", "送您{coupon。回T退订") == ["format"]


def test_a_verification_code_goes_at_once_without_consent(make_member):
    member = make_member()
    message = send_verification_code(member=member, code="482913", source=Source.TASK, at=NIGHT)
    assert message.status == Status.SENT and "482913" in message.body


@pytest.mark.parametrize("code", ["", "12", "abcdef", "123456789", None])
def test_a_verification_code_must_be_digits(make_member, code):
    from messaging.exceptions import InvalidMessage

    with pytest.raises(InvalidMessage):
        send_verification_code(member=make_member(), code=code, source=Source.TASK)


# --- unsubscribe link ---------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_then_unsubscribes(client, consenting):
    url = unsubscribe_url(consenting, "sms")
    assert len(url) < 60  # short enough for an SMS

    shown = client.get(url)
    assert shown.status_code == 200
    assert Consent.objects.get(member=consenting).granted  # a GET (a link preview) does nothing
    done = client.post(url)

    assert done.status_code == 200
    consent = Consent.objects.get(member=consenting)
    assert not consent.granted and consent.door == ConsentDoor.UNSUBSCRIBE_LINK


@pytest.mark.parametrize("forge", ["", "1s0000000000000000", "abc", "999999s1234567890abcdef0"])
def test_a_forged_unsubscribe_link_is_404(client, consenting, forge):
    token = unsubscribe_token(consenting, "sms")
    other = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in (forge, other):
        assert client.post(f"/messaging/unsubscribe/{bad}").status_code == 404
    assert Consent.objects.get(member=consenting).granted


def test_opting_in_again_after_unsubscribing_needs_the_member(consenting):
    from members.exceptions import ConsentWithdrawn

    withdraw_consent(member=consenting, channel="sms", door=ConsentDoor.SMS_REPLY,
                     source=Source.TASK)  # fmt: skip
    with pytest.raises(ConsentWithdrawn):
        record_consent(member=consenting, channel="sms", granted=True, door=ConsentDoor.IMPORT,
                       source=Source.IMPORT)  # fmt: skip
    record_consent(member=consenting, channel="sms", granted=True, door=ConsentDoor.TILL,
                   source=Source.TILL)  # fmt: skip
    assert Consent.objects.get(member=consenting).granted


# --- the provider's unsubscribe list ------------------------------------------------------------


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_the_providers_unsubscribe_list_unsubscribes_members(make_member):
    a, b, c = agree(make_member()), agree(make_member()), make_member()
    withdraw_consent(member=b, channel="sms", door=ConsentDoor.SMS_REPLY, source=Source.TASK)
    rows = [["手机号码", "退订时间"], [a.phone, "2026-05-01"], [int(b.phone), ""],
            ["+86" + c.phone, ""], ["13999999999", ""], ["不是号码", ""], [None, None]]  # fmt: skip

    done = import_unsubscribe_list(file=_xlsx(rows), file_name="退订名单.xlsx",
                                   source=Source.ADMIN)  # fmt: skip

    assert (done.rows, done.unsubscribed, done.already, done.unknown, done.invalid) == (5, 2, 1, 1, 1)  # noqa: E501
    assert not Consent.objects.get(member=a).granted
    assert Consent.objects.get(member=c).door == ConsentDoor.UNSUBSCRIBE_LIST
    # Unsubscribed is final: an import's consent column cannot turn it back.
    from members.services.consent import bulk_record_consent

    assert bulk_record_consent(member_ids=[a.pk, c.pk], channel="sms", granted=True,
                               door=ConsentDoor.IMPORT, source=Source.IMPORT) == 0  # fmt: skip


def test_a_csv_list_in_gbk_is_read_too(make_member):
    a = agree(make_member())
    data = f"手机\n{a.phone}\n".encode("gb18030")
    done = import_unsubscribe_list(file=io.BytesIO(data), file_name="list.csv", source=Source.ADMIN)
    assert done.unsubscribed == 1


@pytest.mark.parametrize("name,data", [("list.pdf", b"%PDF"), ("list.xlsx", b"not a zip"),
                                       ("list.csv", b"\xff\xfe\x00bad\xff")])  # fmt: skip
def test_an_unreadable_list_is_refused_whole(name, data):
    from messaging.exceptions import InvalidUnsubscribeList

    with pytest.raises(InvalidUnsubscribeList):
        import_unsubscribe_list(file=io.BytesIO(data), file_name=name, source=Source.ADMIN)


# --- the preview --------------------------------------------------------------------------------


def test_the_preview_counts_by_channel_and_reason_and_prices_the_sms(settings, make_member):
    from messaging.services import bind_wechat

    settings.MESSAGING_SMS_PRICE = Decimal("0.05")
    sms_only = [agree(make_member()) for _ in range(3)]
    both = agree(make_member(), "sms", "wechat")
    bind_wechat(member=both, openid="o-123", source=Source.TASK)
    wechat_no_openid = agree(make_member(), "wechat")
    unsubscribed = agree(make_member())
    withdraw_consent(member=unsubscribed, channel="sms", door=ConsentDoor.SMS_REPLY,
                     source=Source.TASK)  # fmt: skip
    never = make_member()
    frozen = agree(make_member())
    Member.objects.filter(pk=frozen.pk).update(status=Member.Status.FROZEN)
    everyone = members_qs(*sms_only, both, wechat_no_openid, unsubscribed, never, frozen)

    seen = preview(kind=Kind.CAMPAIGN_OFFER, members=everyone, params={"coupon": "满60减15券"},
                   at=MORNING)  # fmt: skip

    assert seen["channels"] == {"wechat": 1, "sms": 3, "inbox": 7}
    assert seen["excluded"] == {"no_channel": 1, "unsubscribed": 1, "no_consent": 1,
                                "inactive": 1}  # fmt: skip
    assert seen["sms_messages"] == 3 and seen["sms_parts_each"] == 1
    assert seen["sms_cost"] == Decimal("0.15")
    assert Message.objects.count() == 0  # changes nothing


def test_a_long_sms_is_billed_per_67_characters():
    from messaging.backends import sms_segments

    assert [sms_segments("字" * n) for n in (0, 1, 70, 71, 134, 135)] == [0, 1, 1, 2, 2, 3]
