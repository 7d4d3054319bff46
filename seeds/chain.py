"""The demo chain: four stores, their staff and tills, and the admin users."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

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
MANAGER_PASSWORD = "manager-demo-123"


def seed_chain():
    """Create (or find) the demo stores, staff, tills and users. Idempotent."""
    regions = {
        code: Region.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in REGIONS.items()
    }
    stores = {}
    for code, name, kind, region, city, address in STORES:
        stores[code], _ = Store.objects.get_or_create(
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
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        admin.groups.add(Group.objects.get(name=HEAD_OFFICE))
    keys = {}
    for code, store in stores.items():
        manager_name = f"{code.lower()}_manager"
        manager = User.objects.filter(username=manager_name).first()
        if manager is None:
            manager = User.objects.create_user(
                manager_name, password=MANAGER_PASSWORD, is_staff=True
            )
            manager.groups.add(Group.objects.get(name=STORE_MANAGER))
        Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-M01",
            defaults={"name": f"{store.name}店长", "role": Staff.Role.MANAGER, "user": manager},
        )
        Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-C01",
            defaults={"name": f"{store.name}收银员", "role": Staff.Role.CASHIER},
        )
        Staff.objects.get_or_create(
            store=store,
            employee_no=f"{code}-G01",
            defaults={"name": f"{store.name}导购", "role": Staff.Role.GUIDE},
        )
        terminal, created = Terminal.objects.get_or_create(
            store=store, code="POS01", defaults={"name": "1号收银台"}
        )
        if created or not TerminalAPIKey.objects.filter(terminal=terminal).exists():
            _, keys[str(terminal)] = TerminalAPIKey.objects.create_key(
                name=str(terminal), terminal=terminal
            )
    Group.objects.get_or_create(name=CASHIER)
    return {"stores": stores, "admin": admin, "keys": keys}
