"""Reusable reads of members."""

from core.sql import column, table
from members.models import Consent


def till_summary_sql():
    """The consent part of the till's view of a member (sales.selectors.member_summary), as a
    LATERAL subquery over `m.id`: whether they agree to marketing by SMS and by WeChat now."""
    channel, granted = column(Consent, "channel"), column(Consent, "granted")
    return (
        f"""LEFT JOIN LATERAL (
            SELECT COALESCE(bool_or(k.{granted} AND k.{channel} = 'sms'), false) AS consent_sms,
                   COALESCE(bool_or(k.{granted} AND k.{channel} = 'wechat'), false)
                       AS consent_wechat
            FROM {table(Consent)} k
            WHERE k.{column(Consent, "member")} = m.id AND k.{column(Consent, "purpose")} = 'marketing'
        ) consent ON true""",  # noqa: E501
        ["consent_sms", "consent_wechat"],
    )
