"""The three back-office roles and their model permissions.

Groups are keyed by their Chinese names because that is what head office sees in the admin.
Permissions are described by app and action rather than listed model by model, so the models
that later apps add are covered without touching this file; `extra` names single permissions.
"""

from django.contrib.auth.models import Group, Permission

HEAD_OFFICE = "总部"
STORE_MANAGER = "门店店长"
CASHIER = "收银员"

OUR_APPS = (
    "stores",
    "members",
    "loyalty",
    "wallet",
    "countcards",
    "coupons",
    "sales",
    "messaging",
    "campaigns",
    "reports",
)

ROLES = {
    HEAD_OFFICE: {
        "actions": {app: ("view", "add", "change", "delete") for app in OUR_APPS},
        "extra": [
            "stores.view_all_stores",
            "members.view_full_phone",
            "loyalty.approve_adjustment",
            "wallet.approve_withdrawal",
            "wallet.approve_storedvalueadjustment",
            "reports.view_reports",
            "reports.close_settlementperiod",
        ],
    },
    STORE_MANAGER: {
        "actions": {
            "stores": ("view",),
            "members": ("view", "add", "change"),
            "loyalty": ("view",),
            "wallet": ("view", "add", "change"),
            "countcards": ("view", "add", "change"),
            "coupons": ("view",),
            "sales": ("view",),
            "messaging": ("view",),
            "campaigns": ("view",),
            # Reports of their own stores; store takings of their stores are theirs to enter.
            "reports": ("view", "add", "change"),
        },
        "extra": ["members.view_full_phone", "reports.view_reports"],
    },
    CASHIER: {
        "actions": {
            "stores": ("view",),
            "members": ("view", "add"),
            "loyalty": ("view",),
            "wallet": ("view", "add"),
            "countcards": ("view", "add"),
            "coupons": ("view",),
            "sales": ("view",),
        },
        "extra": [],
    },
}

# Ledgers and approvals are written only by services; nobody edits or deletes them by hand.
NEVER_GRANTED = {"add", "change", "delete"}
LEDGER_MODELS = {
    "tierprogress",
    "pointsentry",
    "pointslot",
    "lotconsumption",
    "walletentry",
    "tierchange",
    "countcardentry",
    "couponevent",
    "couponholding",
    # Consent records and messages: written by their services only.
    "consentrecord",
    "consent",
    "message",
    "dispatch",
    "inboundsms",
    "wechatbinding",
    "ratebucket",
    # Written by the reports jobs and the settlement close, never by hand.
    "dailystats",
    "storesnapshot",
    "settlementline",
    "settlementperiod",
}


# Chain-wide rules and stock in apps whose other models store staff may change: head office
# sets them, a store's staff only view them (tiers, recharge plans, count-card packages, the
# batches of pre-printed cards, settlement rates).
RULE_MODELS = {"tier", "rechargeplan", "countcardpackage", "cardbatch", "settlementrate"}


def _permissions_for(role, using, head_office=False):
    extra = {tuple(name.split(".")) for name in role["extra"]}
    perms = (
        Permission.objects.using(using)
        .filter(content_type__app_label__in=set(role["actions"]) | {app for app, _ in extra})
        .select_related("content_type")
    )
    granted = []
    for perm in perms:
        app, model = perm.content_type.app_label, perm.content_type.model
        action = perm.codename.split("_", 1)[0]
        # Only the model's own default permission matches an action: "view_all_stores" is not
        # "view_store" and is granted only when listed in `extra`.
        default = perm.codename == f"{action}_{model}" and action in role["actions"].get(app, ())
        if default and not head_office and model in RULE_MODELS and action != "view":
            continue
        if (default and not (model in LEDGER_MODELS and action in NEVER_GRANTED)) or (
            (app, perm.codename) in extra
        ):
            granted.append(perm)
    return granted


def sync_role_groups(using="default"):
    """Create the role groups and give each its permissions. Idempotent."""
    for name, role in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(_permissions_for(role, using, head_office=name == HEAD_OFFICE))
