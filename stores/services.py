from django.db import transaction

from .models import Store, Terminal, TerminalAPIKey


@transaction.atomic
def create_terminal(*, store_code: str, code: str, name: str = "") -> tuple[Terminal, str]:
    """Create a till (or reuse an existing one of that code) and give it a new API key.

    Returns the terminal and the plain key; only its hash is stored, so this is the one
    moment the key can be shown.
    """
    store = Store.objects.get(code=store_code)
    terminal, _ = Terminal.objects.get_or_create(
        store=store, code=code, defaults={"name": name or code}
    )
    _, key = TerminalAPIKey.objects.create_key(name=f"{store.code}-{code}", terminal=terminal)
    return terminal, key


@transaction.atomic
def revoke_terminal_keys(*, terminal: Terminal) -> int:
    """Revoke every key of a till (a stolen or retired till): its requests get 401 from then on."""
    return TerminalAPIKey.objects.filter(terminal=terminal, revoked=False).update(revoked=True)
