from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    """Stored value (储值): wallets and their ledger, recharge plans, withdrawals, transfers."""

    name = "wallet"
    verbose_name = _("Stored value")

    def ready(self):
        from members import hooks

        from . import services

        # A new member gets an empty wallet, with their opening stored value if any.
        hooks.member_opened.connect(services.open_wallet_for_new_member)
        hooks.members_imported.connect(services.open_wallets_for_imported_members)
