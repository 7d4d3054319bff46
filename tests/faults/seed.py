"""The fault suite's data, written into its private database: `python -m tests.faults.seed`
with DATABASE_URL pointing there. The schema came from the suite's own test database (a dump,
much faster than migrating again); `migrate` then only records nothing new and emits
post_migrate (content types, permissions, the role groups). Prints a JSON of what was made."""

import json
import os
import sys
import uuid

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from loyalty.ledger import open_account
    from loyalty.models import EarningRule
    from loyalty.models.rules import RuleBookVersion
    from members.models import Member
    from stores.services import create_terminal
    from tests import factories
    from wallet.ledger import open_wallet

    members = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    call_command("migrate", verbosity=0)
    if not RuleBookVersion.objects.exists():
        RuleBookVersion.objects.create(token=uuid.uuid4().hex)
    chain = factories.make_chain()
    factories.UserFactory(username="fault_office", is_staff=True, is_superuser=True)
    EarningRule.objects.create(name="基础积分", kind="per_amount", points=1, per_amount=1)
    phones = []
    for n in range(members):
        member = Member.objects.create(
            member_no=f"F{n:07d}", phone=f"136{n:08d}", home_store=chain["SH001"], name="顾客"
        )
        open_account(member)
        open_wallet(member)
        phones.append(member.phone)
    keys = [create_terminal(store_code="SH001", code=f"POS{n:02d}")[1] for n in range(1, 4)]
    print(json.dumps({"phones": phones, "keys": keys, "user": "fault_office",
                      "password": "pass-word-123"}))  # fmt: skip


if __name__ == "__main__":
    main()
