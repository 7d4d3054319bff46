"""The demo chain: four stores, their staff and tills, and the admin users: two at head office
(so one can approve what the other asks), a manager and a cashier per store."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _

from stores.models import Region, Staff, Store, Terminal, TerminalAPIKey
from stores.roles import CASHIER, HEAD_OFFICE, STORE_MANAGER

STORES = [
    ("SH001", "上海徐汇店", Store.Kind.DIRECT, "EAST", "上海", "徐汇区漕溪北路 88 号"),
    ("SH002", "上海浦东店", Store.Kind.DIRECT, "EAST", "上海", "浦东新区张杨路 500 号"),
    ("BJ001", "北京朝阳店", Store.Kind.DIRECT, "NORTH", "北京", "朝阳区建国路 93 号"),
    ("GZ001", "广州天河店", Store.Kind.FRANCHISE, "SOUTH", "广州", "天河区天河路 208 号"),
]
REGIONS = {"EAST": "华东大区", "NORTH": "华北大区", "SOUTH": "华南大区"}

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-demo-123"  # demo data only; printed by seed_demo
# A second head-office user, not a superuser: approves what `admin` asks (maker-checker).
APPROVER_USERNAME = "hq_approver"
APPROVER_PASSWORD = "approver-demo-123"
MANAGER_PASSWORD = "manager-demo-123"
CASHIER_PASSWORD = "cashier-demo-123"


def _login(username, password, group, **fields):
    """The demo user `username` in `group`, created with `password` if missing."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, password=password, is_staff=True, **fields)
        user.groups.add(Group.objects.get(name=group))
    return user


def seed_chain():
    """Create (or find) the demo stores, staff, tills and users. Idempotent."""
    regions = {
        code: Region.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in REGIONS.items()
    }
    stores = {}
    for code, name, kind, region, city, address in STORES:
        stores[code], _created = Store.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "region": regions[region],
                "city": city,
                "address": address,
            },
        )
    User = get_user_model()
    Group.objects.get_or_create(name=CASHIER)
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        admin.groups.add(Group.objects.get(name=HEAD_OFFICE))
    _login(APPROVER_USERNAME, APPROVER_PASSWORD, HEAD_OFFICE)
    logins = [
        (ADMIN_USERNAME, ADMIN_PASSWORD, _("head office (superuser)")),
        (APPROVER_USERNAME, APPROVER_PASSWORD, _("head office: approves adjustments")),
    ]
    keys = {}
    for code, store in stores.items():
        manager = _login(f"{code.lower()}_manager", MANAGER_PASSWORD, STORE_MANAGER)
        cashier = _login(f"{code.lower()}_cashier", CASHIER_PASSWORD, CASHIER)
        logins += [
            (manager.username, MANAGER_PASSWORD, _("store manager, %(store)s") % {"store": store}),
            (cashier.username, CASHIER_PASSWORD, _("cashier, %(store)s") % {"store": store}),
        ]
        Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-M01",
            defaults={"name": f"{store.name}店长", "role": Staff.Role.MANAGER, "user": manager},
        )
        till_staff, _created = Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-C01",
            defaults={"name": f"{store.name}收银员", "role": Staff.Role.CASHIER, "user": cashier},
        )
        if till_staff.user_id is None:  # a demo seeded before cashiers had logins
            till_staff.user = cashier
            till_staff.save(update_fields=["user"])
        Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-G01",
            defaults={"name": f"{store.name}导购", "role": Staff.Role.GUIDE},
        )
        terminal, created = Terminal.objects.get_or_create(
            store=store, code="POS01", defaults={"name": "1号收银台"}
        )
        if created or not TerminalAPIKey.objects.filter(terminal=terminal).exists():
            _key, keys[str(terminal)] = TerminalAPIKey.objects.create_key(
                name=str(terminal), terminal=terminal
            )
    return {"stores": stores, "admin": admin, "keys": keys, "logins": logins}
