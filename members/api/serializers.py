"""Till API serializers shared by every till call that names a member: validate, decide nothing."""

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members.validators import validate_birthday

# The same rule as the import's normalizer, so a bad number is refused here, by field, without
# echoing the number back in a message.
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Balances shown to a till; amounts a till sends are capped lower (MONEY_IN) so that no single
# request can carry a balance or a points column past what the database holds.
MONEY = {"max_digits": 14, "decimal_places": 2}
MONEY_IN = {"max_digits": 9, "decimal_places": 2}
# Business numbers (receipt, refund, recharge, visit, exchange) end up in URLs and logs
# (GET /sales/{receipt_no}): no slash, space, ? # or %, and no control characters (a path
# parameter holding one is refused: it could never be looked up).
DOCUMENT_NO = RegexValidator(
    r"^[^/\\\s?#%\x00-\x1f\x7f]+$",
    gettext_lazy("No slash, space, question mark, hash, percent sign or control character."),
)

# Whole numbers a till sends stay within the columns they end up in (integer / bigint), so an
# absurd number is a 400 naming the field, never a database error.
POINTS_IN = {"min_value": 0, "max_value": 2_147_483_647}
ID_IN = {"min_value": 1, "max_value": 2**63 - 1}


def validate_phone(value):
    if not PHONE_RE.match(value):
        raise serializers.ValidationError(_("A mainland mobile number: 11 digits starting with 1."))
    return value


class MemberRefSerializer(serializers.Serializer):
    """Names a member by exactly one of phone, card number or member number."""

    phone = serializers.CharField(required=False, max_length=11, validators=[validate_phone])
    card_no = serializers.CharField(required=False, max_length=30)
    member_no = serializers.CharField(required=False, max_length=20)

    def validate(self, attrs):
        given = [name for name in ("phone", "card_no", "member_no") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(_("Give exactly one of phone, card_no or member_no."))
        return attrs


class TierSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MarketingConsentSerializer(serializers.Serializer):
    """Whether the member agrees to marketing messages, per channel (API v1.1)."""

    sms = serializers.BooleanField(required=False, default=False)
    wechat = serializers.BooleanField(required=False, default=False)


class OpenMemberSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=11, validators=[validate_phone])
    name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    gender = serializers.ChoiceField(choices=["M", "F", "U"], required=False, default="U")
    birthday = serializers.DateField(
        required=False, allow_null=True, default=None, validators=[validate_birthday]
    )
    card_no = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    referrer_phone = serializers.CharField(
        max_length=11, required=False, allow_blank=True, default=""
    )
    marketing_consent = MarketingConsentSerializer(
        required=False,
        default=dict,
        help_text=gettext_lazy(
            "What the member agreed to at the till: marketing by SMS, by WeChat (default "
            "neither). Recorded with the wording shown and the till as the door."
        ),
    )

    def validate_referrer_phone(self, value):
        return validate_phone(value) if value else value
