"""OpenAPI pieces shared by every till endpoint: the key scheme, Idempotency-Key, errors."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# Every error code the till API can answer, with its status and a sample detail.
ERROR_CODES = {
    "invalid": (400, "Invalid input."),
    "parse_error": (400, "Malformed request."),
    "idempotency_key_missing": (400, "The Idempotency-Key header is required on every POST."),
    "not_authenticated": (401, "Authentication credentials were not provided."),
    "authentication_failed": (401, "Unknown or revoked API key."),
    "member_inactive": (403, "This member is frozen or closed."),
    "permission_denied": (403, "You do not have permission to perform this action."),
    "member_not_found": (404, "No member matches."),
    "sale_not_found": (404, "No sale with this receipt number in this store."),
    "gift_not_found": (404, "No such gift."),
    "count_card_not_found": (404, "This member has no such count card."),
    "not_found": (404, "Not found."),
    "method_not_allowed": (405, 'Method "PUT" not allowed.'),
    "member_exists": (409, "This phone number is already a member."),
    "duplicate_receipt": (409, "This receipt number was already used with another sale."),
    "duplicate_refund": (409, "This refund number was already used with another refund."),
    "duplicate_recharge": (409, "This recharge number was already used with another recharge."),
    "duplicate_visit": (409, "This visit number was already used with another visit."),
    "idempotency_key_reused": (
        409,
        "This Idempotency-Key was already used with a different request.",
    ),
    "payload_too_large": (413, "The request body is larger than 2621440 bytes."),
    "unsupported_media_type": (415, 'Unsupported media type "text/plain" in request.'),
    "insufficient_points": (422, "Not enough points."),
    "redemption_not_allowed": (422, "Points cannot be redeemed on this sale."),
    "insufficient_stored_value": (422, "Not enough stored value."),
    "refund_exceeds_sale": (422, "That is more than is left of the sale."),
    "recharge_plan_not_available": (422, "This recharge plan is not available here and now."),
    "out_of_stock": (422, "This gift is out of stock in this store."),
    "count_card_not_usable": (422, "This count card has no visits left or has expired."),
    "coupon_not_usable": (422, "A coupon cannot be used on this sale."),
    "coupon_not_available": (422, "This coupon is not available."),
    "duplicate_exchange": (409, "This exchange number was already used with another exchange."),
    "throttled": (429, "Request was throttled. Expected available in 3 seconds."),
    "server_error": (500, "Internal error. Quote request id 4f1c… to support."),
    "service_unavailable": (503, "The service is briefly unavailable; retry shortly."),
}

COMMON_CODES = ("not_authenticated", "authentication_failed", "throttled", "server_error",
                "service_unavailable")  # fmt: skip
# A POST that changes nothing (quote, coupon evaluation) takes no Idempotency-Key.
READ_POST_CODES = ("parse_error", "payload_too_large")
POST_CODES = (
    "idempotency_key_missing",
    "idempotency_key_reused",
    "parse_error",
    "payload_too_large",
)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code; see the list below.")
    detail = serializers.CharField(help_text="Human text, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages; may be empty.",
    )


def error_responses(*codes, post=False):
    """`responses=` entries for these codes (plus the ones every call can get). `post`: True
    for a POST that changes state (Idempotency-Key), "read" for one that changes nothing."""
    extra = POST_CODES if post is True else READ_POST_CODES if post == "read" else ()
    wanted = list(codes) + list(COMMON_CODES) + list(extra)
    by_status = {}
    for code in wanted:
        status, detail = ERROR_CODES[code]
        by_status.setdefault(status, []).append(
            OpenApiExample(
                code,
                value={"code": code, "detail": detail, "fields": {}},
                response_only=True,
                status_codes=[str(status)],
            )
        )
    return {
        status: OpenApiResponse(
            ErrorSerializer,
            description=", ".join(f"`{example.name}`" for example in examples),
            examples=examples,
        )
        for status, examples in sorted(by_status.items())
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description=(
        "Client-chosen, at most 64 characters, unique per till and operation. Retry with the "
        "same key and the same body: you get the first answer back with "
        "`Idempotent-Replayed: true`. Same key, different body: 409 `idempotency_key_reused`."
    ),
)


class TerminalKeyScheme(OpenApiAuthenticationExtension):
    target_class = "stores.api.authentication.TerminalKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Api-Key <key>`. One key per till, from "
                "`python manage.py create_terminal --store SH001 --code POS01`."
            ),
        }
