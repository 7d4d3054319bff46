"""The admin login's lockout (django-axes) locks a user name at an address: an attacker trying
made-up names locks out nobody else, and X-Forwarded-For counts only behind a proxy the
deployment declares (TRUSTED_PROXY_COUNT)."""

import pytest
from django.urls import reverse

PASSWORD = "pass-word-123"  # tests/factories.py


@pytest.fixture
def login(client):
    def attempt(username, password, address="10.1.1.1", forwarded=None):
        client.logout()
        extra = {"REMOTE_ADDR": address}
        if forwarded:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        response = client.post(
            reverse("admin:login"), {"username": username, "password": password}, **extra
        )
        return response.status_code

    return attempt


def test_made_up_user_names_from_one_address_do_not_lock_out_the_real_manager(
    login, sh001_manager, settings
):
    failures = [login(f"nobody{n}", "guess", address="10.1.1.1") for n in range(6)]

    assert 429 not in failures[:5]  # each name failed once (the form is shown again: 200)
    assert login("sh001_manager", PASSWORD, address="10.1.1.1") == 302  # logged in


def test_the_user_locked_at_one_address_still_logs_in_from_another_behind_the_proxy(
    login, sh001_manager, settings
):
    settings.TRUSTED_PROXY_COUNT = 1  # nginx in front; REMOTE_ADDR is always nginx's
    proxy = "10.0.0.1"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login("sh001_manager", "guess", address=proxy, forwarded="203.0.113.5")

    assert login("sh001_manager", PASSWORD, address=proxy, forwarded="203.0.113.5") == 429
    assert login("sh001_manager", PASSWORD, address=proxy, forwarded="198.51.100.7") == 302


def test_only_the_entry_our_proxy_appended_counts(login, sh001_manager, settings):
    """The client may send its own X-Forwarded-For; nginx appends the real address last."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for n in range(settings.AXES_FAILURE_LIMIT):
        login("sh001_manager", "guess", address=proxy, forwarded=f"192.0.2.{n}, 203.0.113.5")

    assert login("sh001_manager", PASSWORD, address=proxy,
                 forwarded="192.0.2.99, 203.0.113.5") == 429  # fmt: skip


def test_a_spoofed_forwarded_for_header_is_ignored_without_a_proxy(login, sh001_manager,
                                                                   settings):
    settings.TRUSTED_PROXY_COUNT = 0  # the default: gunicorn faces the clients
    for n in range(settings.AXES_FAILURE_LIMIT):
        login("sh001_manager", "guess", address="10.2.2.2", forwarded=f"198.51.100.{n}")

    assert login("sh001_manager", PASSWORD, address="10.2.2.2", forwarded="198.51.100.77") == 429
