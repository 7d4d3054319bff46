"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth import get_user_model

from stores.models import Staff, Store, Terminal

DEMO_STORES = [
    ("SH001", "上海徐汇店", Store.Kind.DIRECT, "上海"),
    ("SH002", "上海浦东店", Store.Kind.DIRECT, "上海"),
    ("BJ001", "北京朝阳店", Store.Kind.DIRECT, "北京"),
    ("GZ001", "广州天河店", Store.Kind.FRANCHISE, "广州"),
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")
    is_staff = True


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"ST{n:03d}")
    name = factory.LazyAttribute(lambda o: f"门店{o.code}")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    store = factory.SubFactory(StoreFactory)
    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    name = factory.Sequence(lambda n: f"员工{n}")


class TerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Terminal

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"POS{n:02d}")


def make_chain():
    return {
        code: StoreFactory(code=code, name=name, kind=kind, city=city)
        for code, name, kind, city in DEMO_STORES
    }
