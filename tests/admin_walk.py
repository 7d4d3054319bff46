"""Walking the whole admin: every registered ModelAdmin's pages and every admin URL without
parameters (reports, exports, templates), generated from the admin site itself, so a page
added later is walked without anyone listing it.

`build_world` fills a chain with one of everything in two stores, each row carrying a marker
that names its store, so a test can tell whose rows a page shows.
"""

import html
import io
import json
import re
import zipfile
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from openpyxl import load_workbook

# Admin URLs a walk must not follow: they end the session or change something on GET.
SKIP_URL_NAMES = {"logout", "login"}


def admin_urls_without_args():
    """(name, url) of every admin URL that takes no parameter: indexes, changelists, add
    pages, reports, exports, templates, autocomplete."""
    found = []

    def walk(patterns, namespace="admin"):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                if entry.name in SKIP_URL_NAMES or entry.pattern.converters:
                    continue
                try:
                    found.append((entry.name, reverse(f"{namespace}:{entry.name}")))
                except NoReverseMatch:
                    continue

    urls, _app, _namespace = admin.site.urls
    walk(urls)
    return sorted(set(found))


def object_urls(model, obj, model_admin=None):
    """The pages of one object: change (or view), history, delete confirmation, and the
    member page's buttons (each its own form)."""
    info = (model._meta.app_label, model._meta.model_name)
    pk = quote(obj.pk)
    urls = []
    for view in ("change", "history", "delete"):
        try:
            urls.append(reverse("admin:{}_{}_{}".format(*info, view), args=[pk]))
        except NoReverseMatch:
            continue
    for button in getattr(model_admin, "counter_buttons", ()):
        urls.append(reverse("admin:members_member_counter", args=[pk, button.name]))
    return urls


def registered_objects(limit=None):
    """(model, model_admin, obj) for every object of every registered model."""
    for model, model_admin in admin.site._registry.items():
        objects = model._default_manager.order_by("pk")
        for obj in objects[:limit] if limit else objects:
            yield model, model_admin, obj


def autocomplete_urls():
    """The autocomplete answers of every autocomplete field of every registered admin."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            urls.append(
                reverse("admin:autocomplete")
                + f"?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                f"&field_name={field_name}&term="
            )
    return urls


_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def visible_text(page):
    """What a person reads on an HTML page: no tags, scripts or attribute values."""
    return html.unescape(_TAGS.sub(" ", page))


def response_text(response):
    """The readable text of an answer: an HTML page, a JSON document or an .xlsx workbook."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind or content[:2] == b"PK":
        try:
            book = load_workbook(io.BytesIO(content), read_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError):
            return ""
        return "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    text = content.decode("utf-8", "replace")
    if "javascript" in kind:
        return ""  # the admin's JavaScript catalogue: msgids by design (tested on its own)
    if "json" in kind:
        return json.dumps(json.loads(text), ensure_ascii=False)
    return visible_text(text)


def walk(client, models=None, per_model=None):
    """[(url, text)] of every admin page the client can open, generated from the admin site
    (or only the pages of `models`; the pages of at most `per_model` objects of each)."""
    registry = {m: a for m, a in admin.site._registry.items() if models is None or m in models}
    urls = [] if models else [url for _name, url in admin_urls_without_args()]
    urls += [] if models else autocomplete_urls()
    for model, model_admin, obj in registered_objects(limit=per_model):
        if model in registry:
            urls += object_urls(model, obj, model_admin)
    if models is None:
        labels = {model._meta.app_label for model in registry}
        urls += [reverse("admin:app_list", args=[label]) for label in sorted(labels)]
    for model in registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    responses = [(url, client.get(url)) for url in urls]
    for model, model_admin in registry.items():
        if hasattr(model_admin, "get_export_resource_classes"):  # django-import-export
            info = (model._meta.app_label, model._meta.model_name)
            url = reverse("admin:{}_{}_export".format(*info))
            responses.append((url + " (POST)", export_everything(client, url)))
    return [
        (url, response_text(response))
        for url, response in responses
        if response is not None and response.status_code == 200  # else: nothing shown
    ]


def shown(pages, markers):
    """[(url, marker)] for each page showing one of `markers`."""
    return [(url, marker) for url, text in pages for marker in markers if marker in text]


def export_everything(client, url):
    """Post django-import-export's export form with every field ticked, as .xlsx."""
    page = client.get(url)
    if page.status_code != 200:
        return None
    form = page.context["form"]
    data = {
        name: ("on" if isinstance(field, forms.BooleanField) else field.initial or "")
        for name, field in form.fields.items()
    }
    data["format"] = "0"
    return client.post(url, data)


def build_world(chain, *, head_office, bj001_manager=None):
    """One of everything in SH001 and in BJ001 (members, cards, points, lots, adjustments,
    stored value, withdrawals, transfers, count cards, sales, refunds, gifts, tier changes,
    staff, tills, keys, imports). Returns {store code: [markers that only that store's rows
    carry]}."""
    from core.models import Source
    from countcards.models import CountCardPackage
    from countcards.services import sell_count_card
    from loyalty.models import EarningRule, Gift, GiftStock
    from loyalty.services import adjust_points, grant_opening_points, redeem_gift
    from members.models import ImportJob, Tier
    from members.services import change_tier, generate_card_batch, open_member
    from sales.services import post_sale, refund_sale
    from stores.models import Staff
    from stores.services import create_terminal
    from wallet.models import RechargePlan
    from wallet.services import recharge_wallet, request_withdrawal, transfer_stored_value

    Tier.objects.get_or_create(code="normal", defaults={"name": "普通会员", "rank": 0,
                                                        "is_default": True})
    gold, _created = Tier.objects.get_or_create(code="gold", defaults={"name": "金卡会员",
                                                                       "rank": 2})
    EarningRule.objects.get_or_create(name="每元一分", defaults={"kind": "per_amount"})
    plan, _created = RechargePlan.objects.get_or_create(
        code="R100", defaults={"name": "充100送10", "pay_amount": Decimal("100.00"),
                               "bonus_amount": Decimal("10.00")}
    )
    package, _created = CountCardPackage.objects.get_or_create(
        code="WASH5", defaults={"name": "洗车5次卡", "visits": 5, "price": Decimal("100.00"),
                                "valid_days": 90}
    )
    gift, _created = Gift.objects.get_or_create(code="MUG", defaults={"name": "马克杯",
                                                                      "points": 10})
    batch = generate_card_batch(prefix="88", count=4, source=Source.ADMIN, actor=head_office)
    cards = list(batch.cards.order_by("card_no").values_list("card_no", flat=True))

    markers = {}
    for index, (code, city) in enumerate((("SH001", "上海"), ("BJ001", "北京"))):
        store = chain[code]
        tag = f"{city}独有"
        phone, friend_phone = f"139{index}0001111", f"139{index}0002222"
        member = open_member(
            phone=phone, home_store=store, source=Source.ADMIN, actor=head_office,
            name=f"{tag}会员", card_no=cards[index], initial_stored_value=Decimal("500.00"),
        )
        friend = open_member(
            phone=friend_phone, home_store=store, source=Source.ADMIN, name=f"{tag}亲友"
        )
        grant_opening_points(member=member, points=5000, source=Source.ADMIN, store=store)
        adjust_points(member=member, points=7, reason_category="other", reason=f"{tag}调整",
                      source=Source.ADMIN, actor=head_office, store=store)
        recharge_wallet(member=member, amount=Decimal("100.00"), plan=plan, store=store,
                        source=Source.ADMIN, reference=f"{code}-RECHARGE-REF")
        request_withdrawal(member=member, amount=Decimal("10.00"), reason=f"{tag}提现",
                           store=store, source=Source.ADMIN, actor=head_office)
        transfer_stored_value(from_member=member, to_member=friend, amount=Decimal("5.00"),
                              reason=f"{tag}转账", store=store, source=Source.ADMIN,
                              actor=head_office)
        sell_count_card(member=member, package=package, store=store, source=Source.ADMIN)
        sale = post_sale(
            store=store, member=member, receipt_no=f"{code}-RECEIPT-1", source=Source.TILL,
            lines=[{"sku": f"{code}-SKU", "name": f"{tag}商品", "category": "x", "qty": 1,
                    "amount": Decimal("30.00")}],
            total=Decimal("30.00"),
        )
        refund_sale(sale=sale, refund_no=f"{code}-REFUND-1", source=Source.TILL)
        GiftStock.objects.create(gift=gift, store=store, quantity=9)
        redeem_gift(member=member, gift_code="MUG", qty=1, store=store, source=Source.TILL)
        change_tier(member=member, tier=gold, reason=f"{tag}调级", source=Source.ADMIN,
                    actor=head_office)
        Staff.objects.create(store=store, employee_no=f"{code}-E9", name=f"{tag}店员")
        terminal, _key = create_terminal(store_code=code, code="POS77")
        terminal.name = f"{tag}收银台"
        terminal.save(update_fields=["name"])
        markers[code] = [tag, member.member_no, phone, friend_phone, store.name, cards[index],
                         f"{code}-RECEIPT-1", f"{code}-REFUND-1", f"{code}-RECHARGE-REF"]
    if bj001_manager is not None:
        ImportJob.objects.create(
            file=ContentFile(b"x", name="bj.csv"), original_name="北京独有导入.csv",
            created_by=bj001_manager,
        )
    return markers
