"""Messaging services: every message is queued, sent, answered and unsubscribed from here.

Queueing is set-based (one INSERT … SELECT per audience, messaging.sql): each member of the
audience gets at most one push message (the first channel of MESSAGING_CHANNEL_ORDER they can
be reached on and agreed to) and an inbox copy; the unique key (dispatch, member, channel,
occasion key) lets the database refuse a second message for the same occasion, so a rerun
queues nothing twice. Consent, unsubscribes and the weekly cap are checked when queueing and
again when sending; marketing queued in quiet hours waits for the morning.

Sending (send_due_messages) claims due messages in batches (FOR UPDATE SKIP LOCKED: workers
never take the same message), re-checks them, takes a token of the provider's bucket, renders
and sends, and records what the provider said, one message at a time: accepted (with its id),
retried later with backoff (throttled), failed for good (with the provider's code), or unknown
(the answer was lost). Our message id is the provider's out-id (Aliyun OutId, Tencent
SessionContext): before trying again after a lost answer, the sender asks the provider whether
it took a message with that out-id, and sends again only if it did not (see docs/messaging.md
for what that guarantees and what it cannot).
"""

import csv
import hmac
import io
import logging
import re
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.models import Source
from core.sql import column, table
from members.importing.normalize import RowError, normalize_phone
from members.models import ConsentChannel, ConsentDoor, ConsentPurpose, Member
from members.services.consent import bulk_record_consent, withdraw_consent

from . import ratelimit, rules, sql, wording
from .backends import (
    ACCEPTED,
    MORNING,
    PERMANENT,
    UNKNOWN,
    backend_name,
    get_backend,
    next_morning,
    sms_segments,
)
from .exceptions import InvalidMessage, InvalidUnsubscribeList
from .models import (
    KIND_PURPOSE,
    Channel,
    Dispatch,
    InboundSms,
    Kind,
    Message,
    Purpose,
    UnsubscribeImport,
    WechatBinding,
)

logger = logging.getLogger(__name__)
Status = Message.Status
BATCH = 100
QUEUE_WORK_MEM = "64MB"
# A claimed message whose worker has not answered within this long is taken as lost with its
# worker (it may have been sent): it returns to the queue to be looked up first.
LEASE = timedelta(minutes=5)
UNSUBSCRIBE_REPLY = re.compile(r"^\s*(T|TD|N|退订|退|取消)\s*[。.!！]?\s*$", re.IGNORECASE)


# --- audiences --------------------------------------------------------------------------------


def members_audience(members):
    """(sql, params) of an audience from a queryset of members: each once, no parameters."""
    try:
        inner, params = members.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # pk__in=[]: nobody
        inner, params = "SELECT NULL::bigint AS pk WHERE FALSE", ()
    return f"SELECT s.pk AS member_id, ''::text AS occasion_key, NULL::jsonb AS params FROM ({inner}) s", params  # noqa: E501


def _counts(rows):
    queued, decided, excluded = {}, {}, {}
    for what, key, n in rows:
        {"q": queued, "w": decided, "x": excluded}[what][key] = n
    return queued, decided, excluded


# --- queueing ---------------------------------------------------------------------------------


def queue_messages(
    *, occasion, kind, audience, source, actor=None, reference="", params=None, at=None
) -> Dispatch:
    """Queue a message of `kind` for `occasion` to each member of `audience` ((sql, params)
    selecting member_id, occasion_key, params: see members_audience), in one statement.
    Members already messaged for this occasion on a channel get nothing more there. Returns the
    Dispatch, with what it queued per channel and whom it left out, per reason."""
    if kind not in KIND_PURPOSE:
        raise InvalidMessage(fields={"kind": [_("Unknown message type.")]})
    at = at or timezone.now()
    purpose = KIND_PURPOSE[kind]
    templates = wording.all_templates()
    channels = rules.push_channels(kind, templates)
    inbox = rules.inbox_on(kind, templates)
    with transaction.atomic():
        dispatch, _created = Dispatch.objects.get_or_create(
            occasion=occasion,
            defaults={"kind": kind, "purpose": purpose, "reference": reference[:60],
                      "params": params or {}, "source": source, "actor": actor,
                      "created_at": at},
        )  # fmt: skip
        if dispatch.kind != kind:
            raise InvalidMessage(fields={"occasion": [_("This occasion has another type.")]})
        decision, decision_params = sql.decision_sql(
            audience_sql=audience[0], audience_params=audience[1], purpose=purpose,
            channels=channels, cap=settings.MESSAGING_WEEKLY_CAP, since=at - rules.WEEK,
        )  # fmt: skip
        statement, statement_params = sql.queue_sql(
            decision=decision, decision_params=decision_params, dispatch=dispatch, inbox=inbox,
            push_not_before=rules.release_at(at, purpose), at=at,
            inbox_text=wording.template_text(kind, Channel.INBOX, templates),
            shared=dispatch.params,
        )  # fmt: skip
        with connection.cursor() as cursor:
            # The decision over a big audience is hashed and kept in memory, not on disk.
            cursor.execute(f"SET LOCAL work_mem = '{QUEUE_WORK_MEM}'")
            cursor.execute(statement, statement_params)
            queued, decided, excluded = _counts(cursor.fetchall())
        already = sum(decided.values()) - sum(v for k, v in queued.items() if k != "inbox")
        if already:
            excluded["already"] = excluded.get("already", 0) + already
        locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
        for key, n in queued.items():
            locked.queued[key] = locked.queued.get(key, 0) + n
        for key, n in excluded.items():
            locked.excluded[key] = locked.excluded.get(key, 0) + n
        locked.save(update_fields=["queued", "excluded"])
    return locked


def queue_for_members(*, occasion, kind, members, source, actor=None, reference="",
                      params=None, at=None) -> Dispatch:  # fmt: skip
    """queue_messages for a queryset of members (a campaign's treatment arm)."""
    return queue_messages(
        occasion=occasion, kind=kind, audience=members_audience(members), source=source,
        actor=actor, reference=reference, params=params, at=at,
    )  # fmt: skip


def preview(*, kind, members=None, audience=None, params=None, at=None):
    """Before a campaign is launched: how many members its message would reach on each
    channel, how many it would leave out and why, and what the SMS would cost (per message
    and per 70-character part, at MESSAGING_SMS_PRICE), with the wording as it would read.
    Changes nothing."""
    at = at or timezone.now()
    purpose = KIND_PURPOSE[kind]
    templates = wording.all_templates()
    channels = rules.push_channels(kind, templates)
    inbox = rules.inbox_on(kind, templates)
    audience = audience if audience is not None else members_audience(members)
    decision, decision_params = sql.decision_sql(
        audience_sql=audience[0], audience_params=audience[1], purpose=purpose,
        channels=channels, cap=settings.MESSAGING_WEEKLY_CAP, since=at - rules.WEEK,
    )  # fmt: skip
    statement, statement_params = sql.queue_sql(
        decision=decision, decision_params=decision_params, dispatch=None, inbox=inbox,
        push_not_before=at, at=at, insert=False,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(statement, statement_params)
        _queued, decided, excluded = _counts(cursor.fetchall())
    sample = {"name": "会员名", **(params or {})}
    sms_body = ""
    if Channel.SMS in channels:
        sms_body, _p = wording.render(kind, Channel.SMS, wording.template_text(
            kind, Channel.SMS, templates), sample)  # fmt: skip
    sms = decided.get(Channel.SMS, 0)
    parts = sms_segments(sms_body)
    price = settings.MESSAGING_SMS_PRICE
    return {
        "channels": {c: decided.get(c, 0) for c in [*channels, *(["inbox"] if inbox else [])]},
        "excluded": {reason: excluded.get(reason, 0) for reason in excluded},
        "sms_messages": sms,
        "sms_parts_each": parts,
        "sms_parts": sms * parts,
        "sms_price": price,
        "sms_cost": (price * sms * parts).quantize(Decimal("0.01")),
        "sms_text": sms_body,
        "held_until": rules.release_at(at, purpose) if rules.is_quiet(at) and
        purpose == Purpose.MARKETING else None,
    }  # fmt: skip


# --- sending ----------------------------------------------------------------------------------


def _claim(now, size, only_ids=None):
    """Take up to `size` due messages for this worker: status sending, leased until now+LEASE.
    SKIP LOCKED: two workers never claim the same message. Also returns to the queue any
    message whose lease ran out (its worker died mid-send: it may have been sent)."""
    t = table(Message)
    st, nb, unknown = column(Message, "status"), column(Message, "not_before"), column(
        Message, "outcome_unknown"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {t} SET {st} = 'queued', {unknown} = TRUE WHERE id IN (SELECT id FROM {t} "
            f"WHERE {st} = 'sending' AND {nb} < %s ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)",
            [now],
        )
        only = "AND id = ANY(%s)" if only_ids is not None else ""
        cursor.execute(
            f"UPDATE {t} SET {st} = 'sending', {nb} = %s, "
            f"{column(Message, 'attempts')} = {column(Message, 'attempts')} + 1 "
            f"WHERE id IN (SELECT id FROM {t} WHERE {st} = 'queued' AND {nb} <= %s {only} "
            f"ORDER BY {nb}, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [now + LEASE, now, *([list(only_ids)] if only_ids is not None else []), size],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _recheck(ids, now):
    """Of the claimed `ids`, those that may still go now; the rest are suppressed (consent
    withdrawn, member frozen, cap reached since queueing) or held (marketing in quiet hours)."""
    statement, params = sql.recheck_sql(ids, since=now - rules.WEEK)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        facts = {row[0]: row[1:] for row in cursor.fetchall()}
    messages = {
        m.pk: m for m in Message.objects.filter(pk__in=ids).select_related("member", "dispatch")
    }
    going, quiet = [], rules.is_quiet(now)
    # Marketing pushes this batch lets through, per member: with those already sent, the cap
    # holds inside a batch too (two campaigns queued the same morning for one member).
    passed = {}
    for pk in ids:
        message = messages[pk]
        status, granted, sent_this_week = facts[pk]
        sent_this_week += passed.get(message.member_id, 0)
        reason = None
        if status != Member.Status.ACTIVE:
            reason = "inactive"
        elif message.channel != Channel.INBOX:
            if message.purpose == Purpose.MARKETING and granted is not True:
                reason = "unsubscribed" if granted is False else "no_consent"
            elif message.purpose == Purpose.SERVICE and granted is False:
                reason = "unsubscribed"
            elif (message.purpose == Purpose.MARKETING
                  and sent_this_week >= settings.MESSAGING_WEEKLY_CAP):  # fmt: skip
                reason = "capped"
        if reason:
            _finish(message, status=Status.SUPPRESSED, code=reason, now=now, attempt=False)
        elif message.purpose == Purpose.MARKETING and message.channel != Channel.INBOX and quiet:
            message.status = Status.QUEUED
            message.not_before = rules.release_at(now, Purpose.MARKETING)
            message.attempts -= 1
            message.save(update_fields=["status", "not_before", "attempts"])
        else:
            if message.purpose == Purpose.MARKETING and message.channel != Channel.INBOX:
                passed[message.member_id] = passed.get(message.member_id, 0) + 1
            going.append(message)
    return going


def _values(message, extra=None):
    values = {"name": message.member.name}
    values.update(message.dispatch.params or {})
    values.update(message.params or {})
    values.update(extra or {})
    if "unsubscribe" not in values and message.purpose == Purpose.MARKETING:
        values["unsubscribe"] = unsubscribe_url(message.member, message.channel)
    return values


def _finish(message, *, status, now, code="", detail="", outcome=None, attempt=True,
            not_before=None):  # fmt: skip
    message.status = status
    message.error_code, message.error_detail = code[:80], detail[:255]
    fields = ["status", "error_code", "error_detail"]
    if outcome is not None and outcome.provider_id:
        message.provider_id = outcome.provider_id[:64]
        fields.append("provider_id")
    if status in (Status.SENT, Status.DELIVERED):
        message.sent_at = message.sent_at or now
        message.outcome_unknown = False
        fields += ["sent_at", "outcome_unknown"]
        if status == Status.DELIVERED:
            message.delivered_at = now
            fields.append("delivered_at")
    if not_before is not None:
        message.not_before = not_before
        fields.append("not_before")
    message.save(update_fields={*fields, "body", "backend", "segments", "cost", "sent_at",
                                "outcome_unknown", "not_before"})  # fmt: skip


def _retry_or_fail(message, outcome, now):
    """A transient refusal or a lost answer: try again after the backoff (at least what the
    provider asked), or fail once MESSAGING_MAX_ATTEMPTS are used."""
    if message.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
        code = "outcome_unknown" if outcome.status == UNKNOWN else outcome.code
        _finish(message, status=Status.FAILED, code=code, detail=outcome.detail, now=now)
        return
    backoff = settings.MESSAGING_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1)
    if outcome.status == UNKNOWN:
        message.outcome_unknown = True
        backoff = max(backoff, settings.MESSAGING_LOOKUP_DELAY_SECONDS)
        message.sent_at = message.sent_at or now  # when the first try may have gone out
    if outcome.retry_after == MORNING:
        retry = max(next_morning(now), now + timedelta(seconds=backoff))
    else:
        retry = now + timedelta(seconds=max(backoff, outcome.retry_after or 0))
    _finish(message, status=Status.QUEUED, code=outcome.code, detail=outcome.detail, now=now,
            not_before=retry)  # fmt: skip


def _send_one(message, now, sleep, templates):
    name = backend_name(message.channel)
    if not name:
        _finish(message, status=Status.FAILED, code="channel_off", now=now)
        return Status.FAILED
    backend = get_backend(name)
    text = wording.template_text(message.kind, message.channel, templates)
    if not text:
        _finish(message, status=Status.FAILED, code="no_template", now=now)
        return Status.FAILED
    message.body, params = wording.render(message.kind, message.channel, text, _values(message))
    message.backend = name
    if message.channel == Channel.SMS:
        message.segments = sms_segments(message.body)
        message.cost = settings.MESSAGING_SMS_PRICE * message.segments
    if message.outcome_unknown:
        # The last try's answer was lost: did the provider take it? Send again only if not.
        found = backend.find(message)
        if found is None:
            _finish(message, status=Status.FAILED, code="outcome_unknown",
                    detail=_("The provider cannot say whether it was sent; not sent again."),
                    now=now)  # fmt: skip
            return Status.FAILED
        if found.status == ACCEPTED:
            done = Status.DELIVERED if found.delivered else Status.SENT
            _finish(message, status=done, now=now, outcome=found)
            return done
    ratelimit.take(name, sleep=sleep)
    outcome = backend.send(message, params)
    if outcome.status == ACCEPTED:
        done = Status.DELIVERED if outcome.delivered else Status.SENT
        _finish(message, status=done, now=now, outcome=outcome)
        return done
    if outcome.status == PERMANENT:
        _finish(message, status=Status.FAILED, code=outcome.code, detail=outcome.detail, now=now)
        return Status.FAILED
    _retry_or_fail(message, outcome, now)
    return Status.QUEUED


def send_due_messages(*, now=None, limit=None, sleep=time.sleep, ids=None, budget_seconds=None):
    """Send what is due (as of `now`), in batches, until nothing is due, `limit` messages were
    tried or `budget_seconds` have passed (the next run goes on). Each message's outcome is
    committed on its own, right after its provider answered. Returns {status: count}."""
    started = time.monotonic()
    report = {}
    tried = 0
    templates = wording.all_templates()
    while limit is None or tried < limit:
        moment = now or timezone.now()
        size = BATCH if limit is None else min(BATCH, limit - tried)
        claimed = _claim(moment, size, only_ids=ids)
        if not claimed:
            break
        tried += len(claimed)
        for message in _recheck(claimed, moment):
            try:
                status = _send_one(message, moment, sleep, templates)
            except Exception:
                # Our own fault (a bad template, a bug): the message waits, the rest go on.
                logger.exception("message #%s could not be sent", message.pk)
                message.status, message.not_before = Status.QUEUED, moment + LEASE
                message.outcome_unknown = True
                message.save(update_fields=["status", "not_before", "outcome_unknown"])
                status = "error"
            report[status] = report.get(status, 0) + 1
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
    return report


# --- receipts, replies, unsubscribes -----------------------------------------------------------


def record_receipts(*, backend, receipts):
    """Delivery receipts (状态回执) as the provider posted them: [{"id" (our message id, or
    None), "provider_id", "delivered" (bool), "code", "at"}]. Each updates its message once (a
    repeated receipt changes nothing; a receipt for a message whose answer was lost settles
    it). Returns how many messages changed."""
    changed = 0
    for receipt in receipts:
        query = Q(backend=backend)
        if receipt.get("id"):
            query &= Q(pk=receipt["id"])
        elif receipt.get("provider_id"):
            query &= Q(provider_id=receipt["provider_id"])
        else:
            continue
        status = Status.DELIVERED if receipt["delivered"] else Status.FAILED
        at = receipt.get("at") or timezone.now()
        updates = {"status": status, "outcome_unknown": False}
        if receipt["delivered"]:
            updates["delivered_at"] = at
        else:
            updates["error_code"] = (receipt.get("code") or "undelivered")[:80]
        if receipt.get("provider_id"):
            updates["provider_id"] = receipt["provider_id"][:64]
        changed += (
            Message.objects.filter(query)
            .filter(Q(status__in=[Status.SENT, Status.SENDING, Status.QUEUED])
                    | Q(status=Status.FAILED, error_code="outcome_unknown"))
            .exclude(channel=Channel.INBOX)
            .update(**updates)
        )
        # A message we still had queued (its answer lost) must not be sent again: it was.
        Message.objects.filter(query, sent_at__isnull=True).update(sent_at=at)
    return changed


def receive_sms_reply(*, provider, phone, text, key, at=None):
    """A member's reply (上行短信). T / TD / 退订 (and the like) withdraw their marketing consent
    for SMS (final until they opt in again); anything else is kept for head office to read.
    A reply the provider posts twice (same `key`) is taken once. Returns the InboundSms."""
    at = at or timezone.now()
    try:
        phone = normalize_phone(phone[-11:] if phone else phone)
    except RowError:
        phone = (phone or "")[:20]
    with transaction.atomic():
        reply, created = InboundSms.objects.get_or_create(
            key=key[:120],
            defaults={"provider": provider, "phone": phone, "text": (text or "")[:500],
                      "received_at": at},
        )  # fmt: skip
        if not created:
            return reply
        member = Member.objects.filter(phone=phone).first()
        reply.member = member
        if member is not None and UNSUBSCRIBE_REPLY.match(text or ""):
            withdraw_consent(
                member=member, channel=ConsentChannel.SMS, door=ConsentDoor.SMS_REPLY,
                source=Source.TASK, reference=f"{provider}:{key}"[:100], at=at,
            )  # fmt: skip
            reply.unsubscribed = True
        reply.save(update_fields=["member", "unsubscribed"])
    return reply


def _token_mac(member_id, channel):
    return salted_hmac("messaging.unsubscribe", f"{member_id}:{channel}").hexdigest()[:16]


def unsubscribe_token(member, channel):
    """The token of a member's unsubscribe link for `channel` (short enough for an SMS)."""
    return f"{member.pk}{channel[0]}{_token_mac(member.pk, channel)}"


def unsubscribe_url(member, channel):
    channel = channel if channel in ConsentChannel.values else ConsentChannel.SMS
    return f"{settings.MESSAGING_UNSUBSCRIBE_URL}{unsubscribe_token(member, channel)}"


def member_of_token(token):
    """(member, channel) named by an unsubscribe token, or (None, None) if it is forged."""
    match = re.fullmatch(r"(\d{1,18})([sw])([0-9a-f]{16})", token or "")
    if not match:
        return None, None
    channel = {"s": ConsentChannel.SMS, "w": ConsentChannel.WECHAT}[match.group(2)]
    member_id = int(match.group(1))
    if not hmac.compare_digest(match.group(3), _token_mac(member_id, channel)):
        return None, None
    return Member.objects.filter(pk=member_id).first(), channel


def unsubscribe_by_token(*, token, source=Source.TASK, at=None):
    """The unsubscribe link (the member centre hosts it): withdraw the marketing consent of the
    channel the token names. Returns (member, channel); InvalidMessage for a forged token."""
    member, channel = member_of_token(token)
    if member is None:
        raise InvalidMessage(_("This unsubscribe link is not valid."), code="invalid_token")
    withdraw_consent(member=member, channel=channel, door=ConsentDoor.UNSUBSCRIBE_LINK,
                     source=source, at=at)  # fmt: skip
    return member, channel


PHONE_HEADERS = {"手机号", "手机号码", "号码", "电话", "phone", "mobile", "phone_number", "手机"}


def _phones_in(file, file_name):
    """Every cell of the phone column of an xlsx or CSV file (the first column without a phone
    header), as written."""
    name = (file_name or "").lower()
    data = file.read()
    if name.endswith((".xlsx", ".xls")):
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows = book.get_sheet_by_index(0).to_python()
        except Exception:
            raise InvalidUnsubscribeList() from None
    elif name.endswith((".csv", ".txt")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise InvalidUnsubscribeList() from None
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise InvalidUnsubscribeList(_("Upload an .xlsx or .csv file."))
    rows = [row for row in rows if any(str(c).strip() for c in row)]
    if not rows:
        return []
    index, header = 0, [str(c).strip().lower() for c in rows[0]]
    for i, cell in enumerate(header):
        if cell in PHONE_HEADERS:
            index = i
            rows = rows[1:]
            break
    cells = []
    for row in rows:
        cell = row[index] if index < len(row) else ""
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        cells.append(str(cell).strip())
    return cells


def import_unsubscribe_list(*, file, file_name, source, actor=None,
                            channel=ConsentChannel.SMS) -> UnsubscribeImport:  # fmt: skip
    """Head office uploads the provider's unsubscribe list (退订名单, xlsx or CSV of phone
    numbers): each member on it is unsubscribed from marketing on `channel` (final until they
    opt in again). Cells that are not phone numbers, and numbers that are no member's, are
    counted, not failed on."""
    cells = _phones_in(file, file_name)
    phones, invalid = set(), 0
    for cell in cells:
        try:
            phones.add(normalize_phone(cell[-11:] if cell.startswith(("+86", "86")) else cell))
        except RowError:
            invalid += 1
    ids = list(Member.objects.filter(phone__in=phones).values_list("pk", flat=True))
    with transaction.atomic():
        changed = bulk_record_consent(
            member_ids=ids, channel=channel, granted=False, door=ConsentDoor.UNSUBSCRIBE_LIST,
            source=source, actor=actor, purpose=ConsentPurpose.MARKETING,
            reference=(file_name or "")[:100],
        )  # fmt: skip
        return UnsubscribeImport.objects.create(
            file_name=(file_name or "")[:200], rows=len(cells), unsubscribed=changed,
            already=len(ids) - changed, unknown=len(phones) - len(ids), invalid=invalid,
            channel=channel, source=source, actor=actor,
        )  # fmt: skip


@transaction.atomic
def bind_wechat(*, member, openid, source, actor=None):
    """Bind the member's WeChat openid (the member centre's WeChat log-in calls this): WeChat
    messages reach them from now on. An openid bound to another member moves to this one."""
    openid = (openid or "").strip()
    if not openid or len(openid) > 64:
        raise InvalidMessage(fields={"openid": [_("Not a WeChat openid.")]})
    WechatBinding.objects.filter(openid=openid).exclude(member=member).delete()
    binding, _created = WechatBinding.objects.update_or_create(
        member=member, defaults={"openid": openid, "bound_at": timezone.now()}
    )
    return binding


# --- notices ----------------------------------------------------------------------------------


def notify_points_expiring(*, source, actor=None, at=None, days=None):
    """Tell each member whose points expire in the next `days` days (MESSAGING_POINTS_EXPIRING_
    DAYS) how many and when: once per member and expiry date (one Dispatch per date, so a
    daily run tells each member once). Returns the dispatches."""
    from .notices import points_expiring_audience

    at = at or timezone.now()
    days = settings.MESSAGING_POINTS_EXPIRING_DAYS if days is None else days
    today = timezone.localdate(at)
    dispatches = []
    for ahead in range(1, days + 1):
        day = today + timedelta(days=ahead)
        dispatches.append(queue_messages(
            occasion=f"points_expiring:{day.isoformat()}", kind=Kind.POINTS_EXPIRING,
            audience=points_expiring_audience(day), source=source, actor=actor, at=at,
            params={"date": f"{day:%Y-%m-%d}"},
        ))  # fmt: skip
    return dispatches


def queue_ledger_notices(*, source, actor=None, at=None, lookback=timedelta(minutes=30)):
    """The notices the ledgers call for, read from them (wallet and members cannot import
    messaging): each stored-value change and each tier upgrade of the last `lookback` gets its
    notice, once (the occasion key names the ledger row; a run that sees it again adds
    nothing). Run every minute; the lookback covers a run that was late or a row committed
    after a later one."""
    from .notices import stored_value_audience, tier_upgrade_audience

    at = at or timezone.now()
    since = at - lookback
    return [
        queue_messages(occasion="stored_value", kind=Kind.STORED_VALUE,
                       audience=stored_value_audience(since, at), source=source, actor=actor,
                       at=at),
        queue_messages(occasion="tier_upgrade", kind=Kind.TIER_UPGRADE,
                       audience=tier_upgrade_audience(since, at), source=source, actor=actor,
                       at=at),
    ]  # fmt: skip


def send_verification_code(*, member, code, source, actor=None, at=None):
    """A verification code by SMS, now (the member asked for it: no marketing consent needed,
    no quiet hours, no cap, never anything else in it). Returns the Message."""
    import secrets

    if not re.fullmatch(r"\d{4,8}", str(code or "")):
        raise InvalidMessage(fields={"code": [_("A code of 4 to 8 digits.")]})
    at = at or timezone.now()
    nonce = secrets.token_hex(8)
    audience = (
        "SELECT %s::bigint AS member_id, %s::text AS occasion_key, "
        "jsonb_build_object('code', %s::text) AS params",
        [member.pk, nonce, str(code)],
    )
    queue_messages(occasion="verification_code", kind=Kind.VERIFICATION_CODE, audience=audience,
                   source=source, actor=actor, at=at)  # fmt: skip
    message = Message.objects.get(occasion_key=nonce, member=member, channel=Channel.SMS)
    send_due_messages(now=at, ids=[message.pk])
    message.refresh_from_db()
    return message


# --- the inbox ------------------------------------------------------------------------------------


@transaction.atomic
def mark_read(*, member, message_ids, at=None):
    return Message.objects.filter(
        member=member, channel=Channel.INBOX, pk__in=message_ids, read_at__isnull=True
    ).update(read_at=at or timezone.now())
