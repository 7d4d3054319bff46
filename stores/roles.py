"""The three back-office roles and their model permissions.

Groups are keyed by their Chinese names because that is what head office sees in the admin.
Permissions are described by app and action rather than listed model by model, so the models
that later apps add are covered without touching this file; `extra` names single permissions.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

HEAD_OFFICE = "总部"
STORE_MANAGER = "门店店长"
CASHIER = "收银员"

OUR_APPS = ("stores", "members", "loyalty", "campaigns")

ROLES = {
    HEAD_OFFICE: {
        "actions": {app: ("view", "add", "change", "delete") for app in OUR_APPS},
        "extra": [
            "stores.view_all_stores",
            "members.view_full_phone",
            "loyalty.approve_adjustment",
            "members.approve_withdrawal",
        ],
    },
    STORE_MANAGER: {
        "actions": {
            "stores": ("view",),
            "members": ("view", "add", "change"),
            "loyalty": ("view",),
            "campaigns": ("view",),
        },
        "extra": ["members.view_full_phone"],
    },
    CASHIER: {
        "actions": {"stores": ("view",), "members": ("view", "add"), "loyalty": ("view",)},
        "extra": [],
    },
}

# Ledgers and approvals are written only by services; nobody edits or deletes them by hand.
NEVER_GRANTED = {"add", "change", "delete"}
LEDGER_MODELS = {
    "pointsentry",
    "pointslot",
    "lotconsumption",
    "walletentry",
    "tierchange",
    "countcardentry",
}


# Custom permissions named in any role's `extra` ("view_all_stores", "view_full_phone") are
# granted only through `extra`: otherwise the "view_" prefix of an app-level action would hand
# a store manager `stores.view_all_stores` (head-office scope) and a cashier full phones.
SPECIAL = {name for role in ROLES.values() for name in role["extra"]}


def _permissions_for(role, using):
    query = Q()
    special = Q()
    for name in SPECIAL:
        app, codename = name.split(".")
        special |= Q(content_type__app_label=app, codename=codename)
    for app, actions in role["actions"].items():
        codename = Q()
        for action in actions:
            codename |= Q(codename__startswith=f"{action}_")
        query |= Q(content_type__app_label=app) & codename & ~special
    for name in role["extra"]:
        app, codename = name.split(".")
        query |= Q(content_type__app_label=app, codename=codename)
    perms = Permission.objects.using(using).filter(query).select_related("content_type")
    return [
        p
        for p in perms
        if not (
            p.content_type.model in LEDGER_MODELS and p.codename.split("_", 1)[0] in NEVER_GRANTED
        )
    ]


def sync_role_groups(using="default"):
    """Create the role groups and give each its permissions. Idempotent."""
    for name, role in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(_permissions_for(role, using))
