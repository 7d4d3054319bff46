"""The console backend (the demo's and tests' default, as Django's console e-mail backend): the
message is rendered and stored, logged, and shown in the admin's message log instead of leaving.
The inbox backend: the message is the member centre's copy, delivered as it is stored."""

import logging

from . import ACCEPTED, Outcome

logger = logging.getLogger("messaging.console")


class ConsoleBackend:
    name = "console"

    def send(self, message, params=None):
        logger.info("message #%s to %s: %s", message.pk, message.recipient[-4:], message.body)
        return Outcome(ACCEPTED, provider_id=f"console-{message.pk}")

    def find(self, message):
        return None


class InboxBackend:
    name = "inbox"

    def send(self, message, params=None):
        return Outcome(ACCEPTED, provider_id=f"inbox-{message.pk}", delivered=True)

    def find(self, message):
        return None
