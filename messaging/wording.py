"""The words of each message: the admin's templates (MessageTemplate) or, where head office has
written none, these defaults. Placeholders are {name}; a Tencent template numbers them in the
order they appear, an Aliyun one names them, a WeChat one maps each data key to one."""

import re
import string

from django.conf import settings

from .models import Channel, Kind, MessageTemplate, Purpose

UNSUBSCRIBE_HINT = "回T退订"
DEFAULTS = {
    (Kind.CAMPAIGN_OFFER, Channel.SMS): "{name}您好，送您一张{coupon}，已放入会员账户，到店出示会员码即可使用。回T退订",  # noqa: E501
    (Kind.BIRTHDAY, Channel.SMS): "{name}，生日快乐！{coupon}已放入您的会员账户，祝您生日愉快。回T退订",  # noqa: E501
    (Kind.POINTS_EXPIRING, Channel.SMS): "{name}您好，您有{points}积分将于{date}到期，请及时到店使用。",  # noqa: E501
    (Kind.STORED_VALUE, Channel.SMS): "{name}您好，您的储值卡{change}元，当前余额{balance}元。",
    (Kind.TIER_UPGRADE, Channel.SMS): "{name}您好，恭喜您升级为{tier}，感谢您的支持。",
    (Kind.VERIFICATION_CODE, Channel.SMS): "您的验证码是{code}，5分钟内有效，请勿告诉他人。",
    (Kind.CAMPAIGN_OFFER, Channel.WECHAT): "thing1={coupon}\nthing2={name}",
    (Kind.BIRTHDAY, Channel.WECHAT): "thing1={coupon}\nthing2={name}",
    (Kind.POINTS_EXPIRING, Channel.WECHAT): "number1={points}\ntime2={date}",
    (Kind.STORED_VALUE, Channel.WECHAT): "amount1={change}\namount2={balance}",
    (Kind.TIER_UPGRADE, Channel.WECHAT): "thing1={tier}\nthing2={name}",
    (Kind.CAMPAIGN_OFFER, Channel.INBOX): "送您一张{coupon}，已放入会员账户，到店出示会员码即可使用。",  # noqa: E501
    (Kind.BIRTHDAY, Channel.INBOX): "生日快乐！{coupon}已放入您的会员账户。",
    (Kind.POINTS_EXPIRING, Channel.INBOX): "您有{points}积分将于{date}到期，请及时使用。",
    (Kind.STORED_VALUE, Channel.INBOX): "您的储值卡{change}元，当前余额{balance}元。",
    (Kind.TIER_UPGRADE, Channel.INBOX): "恭喜您升级为{tier}。",
}  # fmt: skip
WECHAT_LINE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*=\s*(.*)$")


def template_text(kind, channel, templates=None):
    """The wording for (kind, channel): the admin's active template, else the default, else ""
    (no message of that kind on that channel)."""
    if templates is not None:
        found = templates.get((kind, channel))
    else:
        found = (
            MessageTemplate.objects.filter(kind=kind, channel=channel, is_active=True)
            .values_list("text", flat=True)
            .first()
        )
    return found if found is not None else DEFAULTS.get((kind, channel), "")


def all_templates():
    """{(kind, channel): text} of the admin's active templates (one query per batch)."""
    return {
        (kind, channel): text
        for kind, channel, text in MessageTemplate.objects.filter(is_active=True).values_list(
            "kind", "channel", "text"
        )
    }


def placeholders(text):
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name]


class _Missing(dict):
    def __missing__(self, key):
        return ""


def render(kind, channel, text, values):
    """(body, params): the text as the member reads it, and the provider's parameters in the
    wording's order ({placeholder: value}; for WeChat {data key: value})."""
    values = _Missing({k: "" if v is None else str(v) for k, v in values.items()})
    if channel == Channel.WECHAT:
        params = {}
        for line in text.splitlines():
            match = WECHAT_LINE.match(line)
            if match:
                params[match.group(1)] = match.group(2).format_map(values)
        return "\n".join(f"{k}: {v}" for k, v in params.items()), params
    body = text.format_map(values)
    params = {name: values[name] for name in dict.fromkeys(placeholders(text))}
    if channel == Channel.SMS:
        sign = _sign_name()
        body = f"【{sign}】{body}" if sign else body
    return body, params


def _sign_name():
    backend = settings.MESSAGING_SMS_BACKEND
    if backend == "aliyun":
        return settings.MESSAGING_ALIYUN["sign_name"]
    if backend == "tencent":
        return settings.MESSAGING_TENCENT["sign_name"]
    return settings.MESSAGING_ALIYUN["sign_name"] or settings.MESSAGING_TENCENT["sign_name"] or ""


def check_template(kind, channel, text):
    """Problems with a template's wording ([] when fine): marketing SMS must say how to
    unsubscribe; a service notice must not advertise (no coupon placeholder)."""
    from .models import KIND_PURPOSE

    problems = []
    purpose = KIND_PURPOSE.get(kind)
    if channel == Channel.SMS and purpose == Purpose.MARKETING and UNSUBSCRIBE_HINT not in text:
        problems.append("unsubscribe")
    if purpose != Purpose.MARKETING and "coupon" in placeholders(text):
        problems.append("marketing_in_notice")
    try:
        text.format_map(_Missing())
    except (ValueError, IndexError):
        problems.append("format")
    return problems
