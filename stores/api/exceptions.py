"""One error shape for the whole till API: `{"code", "detail", "fields"}`.

DRF's own errors (validation, auth, 404, 405, 429, bad JSON), Django's Http404 and
PermissionDenied, a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), every DomainError (its `code`
and `status`) a database that is away for a moment (503 `service_unavailable` with Retry-After) and
unexpected exceptions (500, logged with the request id, never a stack trace in the body) all
come out the same.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import DomainError

logger = logging.getLogger("stores.api")

# DRF's ValidationError code is "invalid" in API.md; the others keep DRF's stable codes.
VALIDATION_CODE = "invalid"
SERVER_ERROR_CODE = "server_error"
PAYLOAD_TOO_LARGE_CODE = "payload_too_large"
UNAVAILABLE_CODE = "service_unavailable"


def error_body(code, detail, fields=None):
    return {"code": code, "detail": str(detail), "fields": fields or {}}


def _flatten(detail, prefix=""):
    """DRF's nested error detail -> {"lines.0.amount": ["..."]}."""
    out = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            if detail:
                out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, value in enumerate(detail):
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def known_error_response(exc):
    """The response for an error we expect (4xx), or None for an unexpected one."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; nothing was parsed.
        return Response(
            error_body(
                PAYLOAD_TOO_LARGE_CODE,
                _("The request body is larger than %(limit)s bytes.")
                % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is away for a moment (a restart, a dropped connection): nothing was
        # written (the transaction died with the connection), so the till retries the same
        # request with the same Idempotency-Key. Once the server is back the next request
        # reconnects (CONN_HEALTH_CHECKS).
        logging.getLogger("core.unavailable").warning("Database unavailable", exc_info=True)
        response = Response(
            error_body(UNAVAILABLE_CODE, _("The service is briefly unavailable; retry shortly.")),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, RecursionError):
        # Input nested past what any parser or serializer walks: malformed, not our failure.
        return Response(
            error_body("parse_error", _("The JSON body is nested too deeply.")),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return Response(
            error_body(VALIDATION_CODE, _("Invalid input."), fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        response = Response(error_body(code, detail), status=exc.status_code)
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error of the till API goes through here."""
    response = known_error_response(exc)
    if response is None:
        request = context.get("request")
        request_id = getattr(request, "request_id", None) or getattr(
            getattr(request, "_request", None), "request_id", "-"
        )
        logger.exception("Unexpected error in the till API (request id %s)", request_id)
        response = Response(
            error_body(
                SERVER_ERROR_CODE,
                _("Internal error. Quote request id %(id)s to support.") % {"id": request_id},
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    set_rollback()
    return response
