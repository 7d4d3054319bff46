"""`Idempotency-Key` on every POST of the till API.

The key is claimed with an INSERT into IdempotencyRecord inside the same transaction as the
business write, never checked first and inserted later: the unique (terminal, key) index makes
a second identical request that arrives while the first is running wait on that insert
(PostgreSQL blocks on the uncommitted duplicate) and, once the first commits, insert nothing
(ON CONFLICT DO NOTHING), after which it replays the stored answer. If the first rolls back (a
crash, a 500), the key was never claimed and the retry runs for real. Keys live in the
database, not the Django cache, which is per process and forgets after minutes.
"""

import hashlib
import json

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response

from core.errors import DomainError
from stores.models import IdempotencyRecord

from .exceptions import known_error_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 64


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_missing"
    status = 400


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 409


def fingerprint(request):
    """SHA-256 of method, path and the parsed body in canonical form (key order ignored)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    raw = f"{request.method}\n{request.path}\n{body}".encode()
    return hashlib.sha256(raw).hexdigest()


def _key_from(request):
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise IdempotencyKeyMissing(
            _("The Idempotency-Key header is required on every POST."),
            fields={HEADER: [_("This header is required.")]},
        )
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing(
            _("The Idempotency-Key header is at most 64 characters."),
            code="invalid",
            fields={HEADER: [_("At most 64 characters.")]},
        )
    return key


def answer(data, status, *, replayed=False):
    """A till write's answer. `replayed`: the call repeated a business number (receipt, refund,
    recharge or visit number) already used with the same body, so this is the first call's
    answer and nothing changed: say so as a replayed key does."""
    response = Response(data, status=status)
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def _replay(record, request_fingerprint):
    if record.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used with a different request.")
        )
    response = Response(record.response, status=record.status)
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(terminal_id, key, request_fingerprint):
    """Insert the key; its id, or None when this till already used the key.

    ON CONFLICT DO NOTHING rather than a savepoint and a caught IntegrityError: one statement
    instead of three. On PostgreSQL it waits while another transaction holds the same key
    uncommitted: if that one commits, we get None and replay its answer; if it rolls back
    (a crash), our insert goes through and we run the request for real.
    """
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (terminal_id, key, fingerprint, status, created_at) "
            "VALUES (%s, %s, %s, 0, %s) ON CONFLICT (terminal_id, key) DO NOTHING RETURNING id",
            [
                terminal_id,
                key,
                request_fingerprint,
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _run_handler(handler):
    """Run the business call in a savepoint of its own: whatever the view does (one service or
    several, raising before or after them, an error PostgreSQL raised that aborted the
    statement), a refused call leaves nothing half-written and the transaction usable, so the
    claim and its stored answer still commit.

    If it collides with a row another transaction committed meanwhile (the same receipt sent
    at the same moment under two keys, by a till that retried with a fresh key), it runs once
    more: the service then sees the committed row and answers as for any repeat (the same
    sale, or duplicate_receipt for another body) instead of a 500.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return handler()
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_answer(record_id, response):
    """Keep the answer with the claimed key (one hand-written UPDATE on every POST)."""
    field = IdempotencyRecord._meta.get_field("response")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotencyRecord._meta.db_table} SET status = %s, response = %s "
            "WHERE id = %s",
            [response.status_code, field.get_db_prep_save(response.data, connection), record_id],
        )


def run_idempotent(request, handler):
    """Run `handler()` (which returns a Response) at most once per till and key.

    2xx and 4xx answers are stored with the key and replayed; an unexpected error rolls the
    whole transaction back, claim included, so the till's retry runs again.
    """
    key = _key_from(request)
    terminal = request.auth.terminal
    request_fingerprint = fingerprint(request)

    with transaction.atomic():
        record_id = _claim(terminal.pk, key, request_fingerprint)
        if record_id is None:
            record = IdempotencyRecord.objects.get(terminal=terminal, key=key)
            return _replay(record, request_fingerprint)

        try:
            response = _run_handler(handler)
        except Exception as exc:
            response = known_error_response(exc)
            if response is None or isinstance(exc, exceptions.Throttled):
                raise
        _store_answer(record_id, response)
    return response
