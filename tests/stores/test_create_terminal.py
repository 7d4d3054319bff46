import pytest
from django.core.management import CommandError, call_command
from rest_framework_api_key.models import APIKey  # noqa: F401  (import proves the app loads)

from stores.models import Terminal, TerminalAPIKey


def test_it_prints_the_key_alone_on_the_last_line(chain, capsys):
    call_command("create_terminal", store="SH001", code="POS09")

    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    terminal = Terminal.objects.get(store__code="SH001", code="POS09")
    assert TerminalAPIKey.objects.get_from_key(last_line).terminal == terminal


def test_it_stores_only_the_hash_of_the_key(chain, capsys):
    call_command("create_terminal", store="SH001", code="POS09")

    key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = TerminalAPIKey.objects.get(terminal__code="POS09")
    assert key not in stored.hashed_key and stored.is_valid(key)


def test_it_refuses_an_unknown_store(chain):
    with pytest.raises(CommandError):
        call_command("create_terminal", store="XX999", code="POS01")
