"""Base views of the till API: authentication, throttling, idempotent POSTs, path checks."""

import unicodedata

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import IsTerminal, TerminalKeyAuthentication
from .idempotency import run_idempotent
from .schema import error_responses
from .throttling import TerminalRateThrottle


def has_control_characters(value):
    """Control characters (NUL, ESC, ...) and lone surrogates: nothing a receipt number or any
    other name in a path holds. PostgreSQL refuses NUL in text outright."""
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


class TillAPIView(APIView):
    """A view only a till may call; `self.terminal` and `self.store` are the caller's.

    Every path parameter (`/sales/{receipt_no}`, ...) is refused with 400 `invalid`, named in
    `fields`, when it holds control characters, as the body's text fields are: it would never
    match anything, and a NUL would fail in the database instead.
    """

    authentication_classes = [TerminalKeyAuthentication]
    permission_classes = [IsTerminal]
    throttle_classes = [TerminalRateThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        bad = {
            name: [_("Control characters are not allowed.")]
            for name, value in kwargs.items()
            if isinstance(value, str) and has_control_characters(value)
        }
        if bad:
            raise ValidationError(bad)

    @property
    def terminal(self):
        return self.request.auth.terminal

    @property
    def store(self):
        return self.request.auth.terminal.store


class IdempotentTillAPIView(TillAPIView):
    """POST runs `create()` at most once per till and Idempotency-Key (see idempotency.py)."""

    def post(self, request, *args, **kwargs):
        return run_idempotent(request, lambda: self.create(request, *args, **kwargs))

    def create(self, request, *args, **kwargs):  # pragma: no cover - every subclass has one
        raise NotImplementedError


class PingView(TillAPIView):
    """The cheapest authenticated call: checks the key and the clock."""

    @extend_schema(
        operation_id="ping",
        summary="Check the key",
        responses={
            200: inline_serializer(
                "Ping",
                {
                    "store": serializers.CharField(),
                    "terminal": serializers.CharField(),
                    "time": serializers.DateTimeField(),
                },
            ),
            **error_responses(),
        },
    )
    def get(self, request):
        return Response(
            {
                "store": self.store.code,
                "terminal": self.terminal.code,
                "time": timezone.localtime().isoformat(),
            }
        )


class NotFoundView(APIView):
    """Anything under /api/v1/ that is not a call: a 404 in the API's error shape."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound()
