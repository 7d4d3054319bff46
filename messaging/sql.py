"""Messaging's hand-written statements (tables and columns from core.sql): queueing a whole
audience in one INSERT … SELECT (benchmarks/messaging_queue.py: a million members in seconds,
against minutes for the per-member loop), the same decision without the insert for the preview,
and the re-check of a claimed batch at sending."""

from core.sql import column, insert_select_sql, table
from members.models import Consent, Member

from .models import Channel, Message, Purpose, WechatBinding

REACH = {Channel.SMS: "c.phone <> ''", Channel.WECHAT: "c.openid IS NOT NULL"}
OK_COLUMN = {Channel.SMS: "c.sms_ok", Channel.WECHAT: "c.wechat_ok"}
RECIPIENT = {Channel.SMS: "c.phone", Channel.WECHAT: "c.openid"}
LIVE = ("queued", "sending", "sent", "delivered")


def _allowed(channel, purpose):
    ok = OK_COLUMN[channel]
    if purpose == Purpose.MARKETING:
        return f"{ok} IS TRUE"
    if purpose == Purpose.SERVICE:
        return f"{ok} IS NOT FALSE"
    return "TRUE"


def decision_sql(*, audience_sql, audience_params, purpose, channels, cap, since):
    """(sql, params) of the CTEs `aud`, `c` and `e`: each audience row (member_id, occasion_key,
    params; each pair once: every audience here is unique by construction, and a repeated pair
    would only meet the unique key) with its push channel (`push`, NULL for none) and why it
    gets none (`reason`, NULL when it gets one): frozen or closed; no consent, unsubscribed or
    no reachable channel among `channels` (in order of preference); the weekly cap (marketing
    only)."""
    m, consent, binding, message = table(Member), table(Consent), table(WechatBinding), table(
        Message
    )
    consent_purpose = "service" if purpose == Purpose.SERVICE else "marketing"
    marketing = purpose == Purpose.MARKETING
    if marketing:
        recent = (
            f"LEFT JOIN (SELECT {column(Message, 'member')} AS member_id, count(*) AS n "
            f"FROM {message} WHERE {column(Message, 'purpose')} = 'marketing' "
            f"AND {column(Message, 'channel')} <> 'inbox' "
            f"AND {column(Message, 'created_at')} >= %s "
            f"AND {column(Message, 'status')} IN {LIVE} GROUP BY 1) r ON r.member_id = a.member_id"
        )
        recent_params, recent_n = [since], "COALESCE(r.n, 0)"
    else:
        recent, recent_params, recent_n = "", [], "0"
    push = " ".join(
        f"WHEN {REACH[ch]} AND {_allowed(ch, purpose)} THEN '{ch}'" for ch in channels
    )
    push = f"CASE {push} END" if channels else "NULL"
    granted_any = " OR ".join(f"{OK_COLUMN[ch]} IS TRUE" for ch in channels) or "FALSE"
    withdrawn_any = " OR ".join(f"{OK_COLUMN[ch]} IS FALSE" for ch in channels) or "FALSE"
    if marketing:
        no_push = (
            f"CASE WHEN {granted_any} THEN 'no_channel' WHEN {withdrawn_any} THEN 'unsubscribed' "
            "ELSE 'no_consent' END"
        )
        capped = f"WHEN d.recent >= {int(cap)} THEN 'capped'"
    else:
        no_push = f"CASE WHEN {withdrawn_any} THEN 'unsubscribed' ELSE 'no_channel' END"
        capped = ""
    # Consent columns: NULL when the member has no row (never agreed / never opted out).
    sql = f"""
        aud AS (SELECT a0.member_id, a0.occasion_key, a0.params FROM ({audience_sql}) a0),
        c AS (
            SELECT a.member_id, a.occasion_key, a.params, m.{column(Member, 'phone')} AS phone,
                   m.{column(Member, 'name')} AS mname,
                   m.{column(Member, 'status')} AS mstatus, wb.{column(WechatBinding, 'openid')} AS openid,
                   cs.{column(Consent, 'granted')} AS sms_ok, cw.{column(Consent, 'granted')} AS wechat_ok,
                   {recent_n} AS recent
            FROM aud a
            JOIN {m} m ON m.{column(Member, 'id')} = a.member_id
            LEFT JOIN {consent} cs ON cs.{column(Consent, 'member')} = a.member_id
                 AND cs.{column(Consent, 'channel')} = 'sms' AND cs.{column(Consent, 'purpose')} = %s
            LEFT JOIN {consent} cw ON cw.{column(Consent, 'member')} = a.member_id
                 AND cw.{column(Consent, 'channel')} = 'wechat' AND cw.{column(Consent, 'purpose')} = %s
            LEFT JOIN {binding} wb ON wb.{column(WechatBinding, 'member')} = a.member_id
            {recent}
        ),
        d AS (SELECT c.*, {push} AS push FROM c),
        e AS (
            SELECT d.*, CASE WHEN d.mstatus <> 'active' THEN 'inactive'
                             WHEN d.push IS NULL THEN {no_push.replace('c.', 'd.')}
                             {capped}
                        END AS reason
            FROM d
        )
    """  # noqa: E501
    return sql, [*audience_params, consent_purpose, consent_purpose, *recent_params]


def inbox_body_sql(text, shared):
    """(sql, params): the inbox wording rendered in SQL for each row of `e`: {name} is the
    member's name, any other placeholder the row's own parameter, else the dispatch's (`shared`),
    else empty. So an inbox copy is written whole and delivered as it is queued."""
    from .wording import placeholders

    sql, params = "%s::text", [text]
    for name in dict.fromkeys(placeholders(text)):
        value = "e.mname" if name == "name" else "COALESCE(e.params ->> %s, %s)"
        value_params = [] if name == "name" else [name, str(shared.get(name, ""))]
        sql = f"replace({sql}, %s, COALESCE({value}, ''))"
        params = [*params, "{" + name + "}", *value_params]
    return sql, params


def queue_sql(*, decision, decision_params, dispatch, inbox, push_not_before, at, insert=True,
              inbox_text="", shared=None):  # fmt: skip
    """(sql, params): the decision, the INSERT of one push message per member that gets one
    (queued for the sender) and one inbox copy per active member (written whole, delivered),
    ON CONFLICT DO NOTHING: the unique key per occasion makes a rerun queue nothing twice; and
    the counts: ('q', channel) inserted, ('w', channel) decided, ('x', reason) left out."""
    if insert:
        body, body_params = inbox_body_sql(inbox_text, shared or {})
        rows = (
            "(SELECT e.member_id, e.occasion_key, e.params, e.push AS channel, "
            "CASE e.push WHEN 'sms' THEN e.phone ELSE e.openid END AS recipient, "
            "%s::timestamptz AS not_before, 'queued' AS status, ''::text AS body, "
            "NULL::timestamptz AS done_at, ''::text AS backend "
            "FROM e WHERE e.reason IS NULL"
            + (
                " UNION ALL SELECT e.member_id, e.occasion_key, e.params, 'inbox', '', "
                f"%s::timestamptz, 'delivered', {body}, %s::timestamptz, 'inbox' "
                "FROM e WHERE e.mstatus = 'active'"
                if inbox
                else ""
            )
            + ") x"
        )
        insert_sql, insert_params = insert_select_sql(
            Message,
            select_from=rows,
            expressions={
                "member_id": "x.member_id",
                "occasion_key": "x.occasion_key",
                "params": "x.params",
                "channel": "x.channel",
                "recipient": "x.recipient",
                "not_before": "x.not_before",
                "status": "x.status",
                "body": "x.body",
                "sent_at": "x.done_at",
                "delivered_at": "x.done_at",
                "backend": "x.backend",
            },
            constants={
                "dispatch_id": dispatch.pk,
                "kind": dispatch.kind,
                "purpose": dispatch.purpose,
                "created_at": at,
            },
            from_params=[push_not_before, *([at, *body_params, at] if inbox else [])],
        )
        unique = ", ".join(
            column(Message, f) for f in ("member", "dispatch", "channel", "occasion_key")
        )
        ins = f", ins AS ({insert_sql} ON CONFLICT ({unique}) DO NOTHING RETURNING "
        ins += f"{column(Message, 'channel')} AS channel)"
        inserted = "UNION ALL SELECT 'q', ins.channel, count(*) FROM ins GROUP BY ins.channel"
    else:
        ins, insert_params, inserted = "", [], ""
        if inbox:
            inserted = (
                "UNION ALL SELECT 'w', 'inbox', count(*) FROM e WHERE e.mstatus = 'active'"
            )
    sql = f"""
        WITH {decision} {ins}
        SELECT 'x', e.reason, count(*) FROM e WHERE e.reason IS NOT NULL GROUP BY e.reason
        UNION ALL SELECT 'w', e.push, count(*) FROM e WHERE e.reason IS NULL GROUP BY e.push
        {inserted}
    """
    return sql, [*decision_params, *insert_params]


def recheck_sql(ids, *, since):
    """(sql, params): for claimed messages `ids`, whether each may still go: the member active,
    the consent of its channel and purpose now, and (marketing pushes) the member's other
    marketing pushes sent in the last 7 days."""
    message, m, consent = table(Message), table(Member), table(Consent)
    sql = f"""
        SELECT x.id, mm.{column(Member, 'status')},
               (SELECT k.{column(Consent, 'granted')} FROM {consent} k
                WHERE k.{column(Consent, 'member')} = x.{column(Message, 'member')}
                  AND k.{column(Consent, 'channel')} = x.{column(Message, 'channel')}
                  AND k.{column(Consent, 'purpose')} =
                      CASE WHEN x.{column(Message, 'purpose')} = 'service' THEN 'service'
                           ELSE 'marketing' END),
               (SELECT count(*) FROM {message} y
                WHERE y.{column(Message, 'member')} = x.{column(Message, 'member')}
                  AND y.id <> x.id AND y.{column(Message, 'purpose')} = 'marketing'
                  AND y.{column(Message, 'channel')} <> 'inbox'
                  AND y.{column(Message, 'status')} IN ('sent', 'delivered', 'sending')
                  AND y.{column(Message, 'sent_at')} >= %s)
        FROM {message} x JOIN {m} mm ON mm.{column(Member, 'id')} = x.{column(Message, 'member')}
        WHERE x.id = ANY(%s)
    """
    return sql, [since, list(ids)]
