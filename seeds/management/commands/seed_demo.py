import importlib

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from seeds.chain import seed_chain

# Demo modules, each with any of these steps; the steps run in this order across all modules
# (every module's rules before any member, every member before any history). Idempotent.
MODULES = [
    "loyalty.demo",
    "members.demo",
    "coupons.demo",
    "sales.demo",
    "wallet.demo",
    "countcards.demo",
    "messaging.demo",
    "campaigns.demo",
]
STEPS = ["seed_rules", "seed_members", "seed_history"]


class Command(BaseCommand):
    """Load the demo chain: stores, staff, tills, users, rules and members with history.

    Idempotent: a second run finds what the first made and adds nothing.
    """

    help = "Load the demo chain (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=200, help="demo members to create")

    def handle(self, *args, members, **options):
        with transaction.atomic():
            ctx = seed_chain()
            ctx["members"] = members
            ctx["stdout"] = self.stdout
            for step in STEPS:
                for name in MODULES:
                    try:
                        module = importlib.import_module(name)
                    except ModuleNotFoundError as exc:
                        if exc.name != name:
                            raise
                        continue
                    if hasattr(module, step):
                        getattr(module, step)(ctx)
        for till, key in ctx["keys"].items():
            self.stdout.write(_("Till %(till)s API key: %(key)s") % {"till": till, "key": key})
        self.stdout.write(_("Demo chain ready. Logins (user / password):"))
        for username, password, role in ctx["logins"]:
            self.stdout.write(f"  {username} / {password}  {role}")
