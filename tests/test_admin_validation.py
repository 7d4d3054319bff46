"""Numbers and dates typed in the admin (and at the till) are validated where they are typed,
with a readable Chinese message on the field; database constraints stay as backstops (issue
12). The two guards at the top are generated from the code, so a new form or rule model is
covered without anyone listing it."""

import contextlib
import datetime as dt
import importlib
import inspect
import pkgutil
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.models import Source
from countcards.models import CountCardPackage
from members.models import CardBatch, Member, Tier
from members.services import open_member
from wallet.models import RechargePlan

pytestmark = pytest.mark.django_db

OUR_APPS = [
    "core", "stores", "members", "loyalty", "wallet", "countcards", "coupons", "sales", "campaigns",
    "reports",
]  # fmt: skip


def admin_modules():
    for app in OUR_APPS:
        try:
            module = importlib.import_module(f"{app}.admin")
        except ModuleNotFoundError:
            continue
        yield module
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            yield importlib.import_module(f"{app}.admin.{info.name}")


def admin_forms():
    """Every form class the admin modules of our apps define (django-import-export's export
    form, which only ticks columns, aside)."""
    from import_export.forms import ImportExportFormBase

    seen = {}
    for module in admin_modules():
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, forms.BaseForm)
                and not issubclass(cls, ImportExportFormBase)
                and cls.__module__ == module.__name__
            ):
                seen[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return sorted(seen.items())


def instantiate(form_class, user, member):
    params = inspect.signature(form_class.__init__).parameters
    kwargs = {}
    if "user" in params or form_class.__name__.endswith("ActionForm") or any(
        base.__name__ == "MemberActionForm" for base in form_class.__mro__
    ):
        kwargs["user"] = user
    if "member" in params:
        kwargs["member"] = member
    return form_class(**kwargs)


def _bounds(field):
    kinds = {type(v) for v in field.validators}
    return MinValueValidator in kinds, MaxValueValidator in kinds


def number_fields_without_bounds(form):
    """Number fields of `form` that accept any size. A ModelForm also runs its model field's
    validators (the column's range, for integers), so those count."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    unbounded = []
    for field_name, field in form.fields.items():
        if isinstance(field, forms.IntegerField | forms.DecimalField):
            validators = list(field.validators)
            if model is not None:
                with contextlib.suppress(FieldDoesNotExist):  # a form-only field
                    validators += model._meta.get_field(field_name).validators
            kinds = {type(v) for v in validators}
            low, high = MinValueValidator in kinds, MaxValueValidator in kinds
            has_digits = isinstance(field, forms.DecimalField) and field.max_digits
            if not low or not (high or has_digits):
                unbounded.append(field_name)
    return unbounded


def test_every_number_typed_in_an_admin_form_has_bounds(rf, admin_user, chain):
    """The admin's own forms (every registered ModelAdmin's add and change form, where model
    fields bring their column's range) and the plain forms of our admin pages (card opening,
    card batches, adjustments, recharges ...): no number field without a lower and an upper
    bound, so nothing typed can overflow a column."""
    member = open_member(phone="13800000000", home_store=chain["SH001"], source=Source.ADMIN)
    request = rf.get("/")
    request.user = admin_user
    unbounded, forms_checked = [], 0
    for model, model_admin in admin.site._registry.items():
        for change in (False, True):
            can = model_admin.has_change_permission if change else model_admin.has_add_permission
            if not can(request):
                continue  # a read-only page: nothing is typed
            form = model_admin.get_form(request, None, change=change)()
            unbounded += [
                f"{model._meta.label}:{name}" for name in number_fields_without_bounds(form)
            ]
            forms_checked += 1
    for name, form_class in admin_forms():
        if issubclass(form_class, forms.ModelForm):
            continue  # used through their ModelAdmin above
        form = instantiate(form_class, admin_user, member)
        unbounded += [f"{name}.{field}" for field in number_fields_without_bounds(form)]
        forms_checked += 1
    assert unbounded == []
    assert forms_checked > 60


def condition_fields(condition):
    """The field names a constraint's Q condition reads."""
    names = set()
    for child in condition.children:
        if isinstance(child, models.Q):
            names |= condition_fields(child)
        elif isinstance(child, tuple):
            names.add(child[0].split("__")[0])
            if isinstance(child[1], models.F):
                names.add(child[1].name.split("__")[0])
    return names


def typed_fields(model_admin, request):
    """The model fields a superuser can type into on the admin's add or change form."""
    names = set()
    if model_admin.has_add_permission(request):
        names |= set(model_admin.get_form(request, None, change=False).base_fields)
    if model_admin.has_change_permission(request):
        names |= set(model_admin.get_form(request, None, change=True).base_fields)
    for inline in model_admin.get_inline_instances(request):
        if inline.model._meta.app_label in OUR_APPS:
            yield from typed_fields_of_inline(inline, request)
    yield from ((model_admin.model, name) for name in names)


def typed_fields_of_inline(inline, request):
    if inline.has_add_permission(request, None) or inline.has_change_permission(request):
        formset = inline.get_formset(request, None)
        yield from ((inline.model, name) for name in formset.form.base_fields)


def test_every_constraint_on_a_typed_field_has_a_readable_message(rf, admin_user):
    """A constraint the admin's forms can run into (Django validates them with the form)
    shows its own sentence, never "Constraint “rechargeplan_pay_gt_0” is violated"."""
    request = rf.get("/")
    request.user = admin_user
    typed = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUR_APPS:
            typed |= set(typed_fields(model_admin, request))
    raw, checked = [], 0
    for model in {model for model, _name in typed}:
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
                continue  # Django's own "X with this Y already exists."
            fields = set(getattr(constraint, "fields", ()) or ())
            if getattr(constraint, "condition", None) is not None:
                fields |= condition_fields(constraint.condition)
            if not any((model, name) in typed for name in fields):
                continue  # no form reaches it: a backstop for the services
            checked += 1
            if constraint.violation_error_message == constraint.default_violation_error_message:
                raw.append(f"{model._meta.label}.{constraint.name}")
    assert raw == []
    assert checked >= 8  # tiers, recharge plans, count-card packages, gift stock ...


# --- the rules head office sets


def tier_form(**changes):
    data = {
        "rank": "5", "code": "vip", "name": "贵宾", "upgrade_spend": "", "upgrade_points": "",
        "threshold_logic": "any", "window": "rolling12", "retain_spend": "",
        "retain_points": "", "points_multiplier": "1.00", "discount_percent": "0.00",
        "birthday_bonus": "0",
    }  # fmt: skip
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "field, value",
    [
        ("upgrade_spend", "-1.00"),
        ("retain_spend", "-0.01"),
        ("discount_percent", "150.00"),
        ("discount_percent", "-5.00"),
        ("points_multiplier", "-1.00"),
        ("upgrade_points", "99999999999"),
        ("rank", "-1"),
    ],
)
def test_a_tier_with_a_number_out_of_range_is_refused_on_its_field(
    client, head_office, field, value
):
    client.force_login(head_office)

    response = client.post(reverse("admin:members_tier_add"), tier_form(**{field: value}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Tier.objects.filter(code="vip").exists()


def test_the_database_still_refuses_a_150_percent_discount_with_a_readable_message():
    tier = Tier(code="bad", name="坏等级", rank=9, discount_percent=Decimal("150"))

    with pytest.raises(Exception) as refused:
        tier.validate_constraints()

    assert "100" in str(refused.value) and "tier_discount" not in str(refused.value)


def test_a_negative_recharge_plan_names_the_field_not_the_constraint(client, head_office):
    client.force_login(head_office)

    response = client.post(
        reverse("admin:wallet_rechargeplan_add"),
        {"code": "NEG", "name": "负数", "pay_amount": "-5", "bonus_amount": "0.00",
         "bonus_points": "0", "is_active": "on"},
    )

    assert response.status_code == 200
    assert "pay_amount" in response.context["adminform"].form.errors
    assert "rechargeplan_pay_gt_0" not in response.content.decode()
    assert not RechargePlan.objects.exists()


@pytest.mark.parametrize(
    "field, value", [("visits", "0"), ("price", "-1"), ("valid_days", "0"), ("visits", "10**9")]
)
def test_a_count_card_package_out_of_range_is_refused(client, head_office, field, value):
    client.force_login(head_office)
    data = {"code": "P1", "name": "套餐", "visits": "10", "price": "100.00", "valid_days": "30",
            "is_active": "on", field: value}

    response = client.post(reverse("admin:countcards_countcardpackage_add"), data)

    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not CountCardPackage.objects.exists()


# --- typed numbers on the card-opening and card-batch pages


def open_form(chain, **changes):
    data = {
        "phone": "13811112222", "name": "李雷", "gender": "U", "birthday": "", "email": "",
        "address": "", "home_store": chain["SH001"].pk, "tier": "", "initial_points": "0",
        "initial_stored_value": "0.00", "commission_staff": "", "referrer_phone": "",
        "card_no": "", "notes": "",
    }  # fmt: skip
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "field, value",
    [
        ("initial_points", "99999999999999999999"),
        ("initial_points", "-1"),
        ("initial_stored_value", "-1.00"),
        ("initial_stored_value", "99999999999.00"),
        ("birthday", "2999-01-01"),
        ("birthday", "1800-01-01"),
    ],
)
def test_opening_a_card_refuses_bad_numbers_and_dates_on_the_form(
    client, head_office, chain, field, value
):
    client.force_login(head_office)

    response = client.post(reverse("admin:members_member_add"), open_form(chain, **{field: value}))

    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Member.objects.exists()


def test_a_birthday_tomorrow_is_refused_and_today_is_not(client, head_office, chain):
    client.force_login(head_office)
    today = timezone.localdate()

    tomorrow = client.post(
        reverse("admin:members_member_add"),
        open_form(chain, birthday=str(today + dt.timedelta(days=1))),
    )
    assert "birthday" in tomorrow.context["form"].errors

    client.post(reverse("admin:members_member_add"), open_form(chain, birthday=str(today)))
    assert Member.objects.get().birthday == today


def test_the_member_form_refuses_a_future_birthday(client, head_office, chain):
    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN)
    client.force_login(head_office)
    url = reverse("admin:members_member_change", args=[member.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(birthday="2999-12-31", tags=[])

    response = client.post(url, data)

    assert response.status_code == 200
    assert "birthday" in response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.birthday is None


@pytest.mark.parametrize(
    "field, value",
    [("count", "100001"), ("count", "0"), ("initial_points", "99999999999999"),
     ("initial_stored_value", "-1")],
)
def test_a_card_batch_refuses_numbers_out_of_range(client, head_office, field, value):
    client.force_login(head_office)
    data = {"prefix": "88", "count": "10", "initial_tier": "", "initial_points": "0",
            "initial_stored_value": "0.00", "notes": "", field: value}

    response = client.post(reverse("admin:members_cardbatch_add"), data)

    assert response.status_code == 200 and field in response.context["form"].errors
    assert not CardBatch.objects.exists()


# --- the till


def test_the_till_refuses_a_future_birthday_naming_the_field(chain):
    from stores.services import create_terminal
    from tests.api.conftest import post, till_client

    _terminal, key = create_terminal(store_code="SH001", code="POS01")
    body = {"phone": "13812345678", "name": "张三", "birthday": "2999-01-01"}

    response = post(till_client(key), "/api/v1/members", body)

    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "birthday" in response.json()["fields"]
    assert not Member.objects.exists()


# --- promotion weekdays


def test_promotion_weekdays_are_seven_checkboxes_stored_as_day_numbers(client, head_office):
    client.force_login(head_office)
    add = reverse("admin:loyalty_earningrule_add")

    page = client.get(add).content.decode()
    for day in ("周一", "周二", "周三", "周四", "周五", "周六", "周日"):
        assert day in page
    assert 'type="checkbox" name="weekdays" value="3"' in page

    client.post(add, {"name": "会员日", "kind": "multiplier", "points": "1",
                      "per_amount": "1.00", "multiplier": "2.00", "categories": "",
                      "min_order_amount": "0.00", "priority": "0", "is_active": "on",
                      "weekdays": ["3", "6"]})

    from loyalty.models import EarningRule

    rule = EarningRule.objects.get(name="会员日")
    assert rule.weekdays == "3,6"
    listed = client.get(reverse("admin:loyalty_earningrule_changelist")).content.decode()
    assert "周三、周六" in listed


def test_a_weekday_that_is_not_a_day_is_refused(client, head_office):
    client.force_login(head_office)

    response = client.post(reverse("admin:loyalty_earningrule_add"), {
        "name": "坏规则", "kind": "multiplier", "points": "1", "per_amount": "1.00",
        "multiplier": "2.00", "min_order_amount": "0.00", "priority": "0", "weekdays": ["8"],
    })

    assert "weekdays" in response.context["adminform"].form.errors


# --- bad characters in back-office URLs


@pytest.mark.parametrize(
    "url",
    [
        "/admin/members/member/?q=%00",
        "/admin/stores/terminalapikey/%00/change/",
        "/admin/members/member/?status=%00",
    ],
)
def test_a_nul_in_a_back_office_url_is_a_chinese_400(client, head_office, chain, url):
    client.force_login(head_office)

    response = client.get(url)

    assert response.status_code == 400
    assert "请求有误" in response.content.decode()
