"""Till authentication: `Authorization: Api-Key <key>`, one key per Terminal, stored hashed."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions

from core.net import client_address
from core.sql import load, select_list, width
from stores.models import Store, Terminal, TerminalAPIKey

from .throttling import note_auth_failure

KEYWORD = "Api-Key"
# last_seen_at is a "is this till alive" hint for the admin, not an audit trail: writing it on
# every request would turn every read into a write (and a row lock) on the terminal.
LAST_SEEN_EVERY = timedelta(minutes=1)


class TerminalKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a till by its API key; `request.auth` is the key, `.terminal` the till.

    Revoked, expired or unknown keys and inactive tills or stores are refused with 401.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        key = key.strip()
        if not key or " " in key:
            refuse_failed_key(request, None, _("Malformed Api-Key header."))
        prefix, _dot, _secret = key.partition(".")
        api_key = key_with_till(prefix)
        if api_key is None or api_key.has_expired or not api_key.is_valid(key):
            refuse_failed_key(request, prefix)
        terminal = api_key.terminal
        if not terminal.is_active or not terminal.store.is_active:
            raise exceptions.AuthenticationFailed(_("This till is not active."))
        touch_last_seen(terminal)
        return (None, api_key)

    def authenticate_header(self, request):
        # A WWW-Authenticate challenge makes DRF answer 401 rather than 403.
        return KEYWORD


def refuse_failed_key(request, prefix, detail=None):
    """401 for a key that is not right; 429 with Retry-After once its prefix or the caller's
    address has failed too often in the window (stores/api/throttling.py)."""
    wait = note_auth_failure(prefix=prefix, address=client_address(request))
    if wait:
        # DRF adds "Expected available in N seconds." and the handler sets Retry-After.
        raise exceptions.Throttled(wait=wait, detail=_("Too many failed key checks."))
    raise exceptions.AuthenticationFailed(detail or _("Unknown or revoked API key."))


def _key_query():
    key, till, store = TerminalAPIKey._meta, Terminal._meta, Store._meta
    return (
        f"SELECT {select_list(TerminalAPIKey, 'k')}, {select_list(Terminal, 't')}, "
        f"{select_list(Store, 's')} "
        f'FROM "{key.db_table}" k JOIN "{till.db_table}" t ON t.id = k.terminal_id '
        f'JOIN "{store.db_table}" s ON s.id = t.store_id '
        "WHERE k.prefix = %s AND NOT k.revoked LIMIT 1"
    )


def key_with_till(prefix):
    """The unrevoked key with this prefix, its till and the till's store loaded with it (one
    hand-written query: this runs on every request of every till)."""
    with connection.cursor() as cursor:
        cursor.execute(_key_query(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = load(TerminalAPIKey, row)
    terminal = load(Terminal, row, width(TerminalAPIKey))
    store = load(Store, row, width(TerminalAPIKey) + width(Terminal))
    Terminal.store.field.set_cached_value(terminal, store)
    TerminalAPIKey.terminal.field.set_cached_value(api_key, terminal)
    return api_key


def touch_last_seen(terminal, now=None):
    """Record that the till was seen, at most once a minute per till.

    The terminal row was loaded with the key, so most requests decide in Python without a
    query; the conditional UPDATE keeps concurrent workers from all writing in the same minute.
    """
    now = now or timezone.now()
    if terminal.last_seen_at and now - terminal.last_seen_at < LAST_SEEN_EVERY:
        return
    Terminal.objects.filter(pk=terminal.pk).exclude(last_seen_at__gt=now - LAST_SEEN_EVERY).update(
        last_seen_at=now
    )
    terminal.last_seen_at = now


class IsTerminal(permissions.BasePermission):
    """Only a till with a valid key gets through (anonymous requests get 401)."""

    def has_permission(self, request, view):
        return isinstance(request.auth, TerminalAPIKey)
