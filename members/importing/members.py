"""Member import: the one path shared by the admin, the Celery job and `import_members`.

read (calamine / CSV) -> validate every row in Python with the normalizers -> check the batch
against the database (phones already members, referrers, cards) -> write: on PostgreSQL one
COPY into a staging table and set-based inserts (`members.services.bulk_open_members`), on
SQLite the same rows through `open_member`. Invalid rows are rejected whole with a reason in
Chinese; the error report names each by the row number Excel shows (header = row 1).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Card, Member, Tier
from members.models.member import name_initials
from members.services.members import bulk_open_members, bulk_update_member_profiles
from stores.access import ALL_STORES
from stores.models import Store

from .normalize import (
    RowError,
    normalize_birthday,
    normalize_gender,
    normalize_money,
    normalize_phone,
    normalize_points,
    normalize_text,
)
from .reader import FileReadError, iter_rows, read_header

# The template's columns, in order (what head office downloads and fills in).
TEMPLATE_HEADERS = [
    "手机号", "姓名", "性别", "生日", "邮箱", "地址", "会员等级", "积分", "储值余额",
    "开卡门店", "推荐人手机号", "会员卡号", "备注",
]  # fmt: skip
FIELDS = {
    "手机号": "phone",
    "姓名": "name",
    "性别": "gender",
    "生日": "birthday",
    "邮箱": "email",
    "地址": "address",
    "会员等级": "tier",
    "积分": "points",
    "储值余额": "stored_value",
    "开卡门店": "store",
    "推荐人手机号": "referrer_phone",
    "会员卡号": "card_no",
    "备注": "notes",
    "积分有效期": "points_expire_at",  # optional: without it the expiry policy decides
}
MAX_STORED_VALUE = 10**10
CHUNK = 5000


@dataclass
class RowProblem:
    row_no: int
    reason: str
    values: list


@dataclass
class ImportResult:
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    headers: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def summary(self) -> str:
        text = _(
            "Rows read %(read)d, imported %(imported)d, updated %(updated)d, rejected "
            "%(rejected)d, duplicates %(duplicates)d, %(seconds).1f seconds."
        ) % {
            "read": self.rows_read,
            "imported": self.imported,
            "updated": self.updated,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "seconds": self.seconds,
        }
        if self.dry_run:
            text = _("Dry run, nothing saved.") + " " + text
        return text


class ImportFileError(FileReadError):
    pass


def _column_map(header):
    columns = {}
    for index, title in enumerate(header):
        key = FIELDS.get(title.replace(" ", ""))
        if key and key not in columns:
            columns[key] = index
    if "phone" not in columns:
        raise ImportFileError(
            gettext_lazy("The file has no %(column)s column in row 1."),
            code="no_phone_column",
            params={"column": "手机号"},
        )
    return columns


class _Context:
    def __init__(self, allowed_store_ids):
        self.stores = {s.code.upper(): s.pk for s in Store.objects.all()}
        self.allowed = allowed_store_ids
        self.tiers = {}
        for tier in Tier.objects.all():
            self.tiers[tier.name] = tier.pk
            self.tiers[tier.code.lower()] = tier.pk
        self.default_tier = Tier.objects.filter(is_default=True).values_list("pk", flat=True)
        self.default_tier = self.default_tier[0] if self.default_tier else None
        self.today = timezone.localdate()
        self.tz = timezone.get_current_timezone()


def _cell(values, columns, key):
    index = columns.get(key)
    return values[index] if index is not None and index < len(values) else None


def _clean(values, columns, ctx):
    """One row as the dict bulk_open_members takes, or RowError with every problem found."""
    errors, row = [], {}

    def take(key, function, *args, **kwargs):
        try:
            return function(_cell(values, columns, key), *args, **kwargs)
        except RowError as exc:
            errors.append(str(exc.message))
            return None

    row["phone"] = take("phone", normalize_phone)
    row["name"] = take("name", normalize_text, 50) or ""
    row["gender"] = take("gender", normalize_gender)
    row["birthday"] = take("birthday", normalize_birthday, today=ctx.today)
    row["email"] = take("email", normalize_text, 254) or ""
    if row["email"]:
        try:
            validate_email(row["email"])
        except ValidationError:
            errors.append(_("Invalid email: %(value)s") % {"value": row["email"]})
    row["address"] = take("address", normalize_text, 200) or ""
    row["notes"] = take("notes", normalize_text, 2000) or ""
    row["points"] = take("points", normalize_points)
    row["stored_value"] = take("stored_value", normalize_money)
    if row["stored_value"] is not None and row["stored_value"] >= MAX_STORED_VALUE:
        errors.append(_("Stored value is too large: %(value)s") % {"value": row["stored_value"]})
    tier = take("tier", normalize_text)
    if tier:
        row["tier_id"] = ctx.tiers.get(tier) or ctx.tiers.get(tier.lower())
        if row["tier_id"] is None:
            errors.append(_("Unknown tier: %(value)s") % {"value": tier})
    else:
        row["tier_id"] = ctx.default_tier
    store = (take("store", normalize_text) or "").upper()
    row["home_store_id"] = ctx.stores.get(store)
    if not store:
        errors.append(_("The %(column)s column is required.") % {"column": "开卡门店"})
    elif row["home_store_id"] is None:
        errors.append(_("Unknown store code: %(value)s") % {"value": store})
    elif ctx.allowed is not ALL_STORES and row["home_store_id"] not in ctx.allowed:
        errors.append(_("You may not import members of store %(value)s.") % {"value": store})
    referrer = _cell(values, columns, "referrer_phone")
    row["referrer_phone"] = ""
    if referrer not in (None, ""):
        try:
            row["referrer_phone"] = normalize_phone(referrer)
        except RowError as exc:
            errors.append(_("Referrer: %(reason)s") % {"reason": exc.message})
        else:
            if row["referrer_phone"] == row.get("phone"):
                errors.append(_("A member cannot refer themselves."))
    row["card_no"] = take("card_no", normalize_text, 20) or ""
    expiry = _cell(values, columns, "points_expire_at")
    row["points_expire_at"] = None
    if expiry not in (None, ""):
        try:
            day = normalize_birthday(expiry, today=dt.date.max)
            row["points_expire_at"] = dt.datetime.combine(day, dt.time(23, 59, 59), ctx.tz)
        except RowError:
            errors.append(_("Invalid points expiry date: %(value)s") % {"value": expiry})
    if errors:
        raise RowError("；".join(errors))
    row["name_initials"] = name_initials(row["name"])
    return row


def _original(values, width):
    shown = []
    for value in list(values)[:width]:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        shown.append(value)
    return shown


def import_members(
    source,
    *,
    actor=None,
    source_kind="import",
    dry_run=False,
    update_existing=False,
    allowed_store_ids=ALL_STORES,
    file_format=None,
    progress=None,
) -> ImportResult:
    """Import members from an .xlsx / .csv file (path or file object). See the module doc.

    Rules: blank rows are skipped; an invalid row is rejected whole; a phone seen earlier in
    the file is a duplicate (the first row wins); a phone already a member is reported and
    left alone, unless `update_existing` (profile fields only, never balances). Re-running the
    same file imports nothing twice (the phone is unique). `progress(percent)` is called as
    the work advances.
    """
    started = time.monotonic()
    result = ImportResult(dry_run=dry_run)
    header = read_header(source, file_format=file_format)
    columns = _column_map(header)
    result.headers = header
    width = len(header)
    ctx = _Context(allowed_store_ids)

    # 1. Read and validate every row; first occurrence of a phone wins.
    clean, first_row = [], {}
    for row_no, values in iter_rows(source, file_format=file_format):
        result.rows_read += 1
        try:
            row = _clean(values, columns, ctx)
        except RowError as exc:
            result.rejected += 1
            result.problems.append(RowProblem(row_no, str(exc.message), _original(values, width)))
            continue
        if row["phone"] in first_row:
            result.duplicates += 1
            reason = _("Duplicate phone in the file: first seen in row %(row)d.") % {
                "row": first_row[row["phone"]]
            }
            result.problems.append(RowProblem(row_no, reason, _original(values, width)))
            continue
        first_row[row["phone"]] = row_no
        row["row_no"] = row_no
        row["_values"] = values
        clean.append(row)
    if progress:
        progress(40)

    # 2. Against the database: phones already members, referrers, cards.
    existing = {}
    phones = [row["phone"] for row in clean]
    for start in range(0, len(phones), CHUNK):
        existing.update(
            Member.objects.filter(phone__in=phones[start : start + CHUNK]).values_list(
                "phone", "id"
            )
        )
    file_phones = set(phones) - set(existing)
    referrer_phones = list({r["referrer_phone"] for r in clean} - file_phones - set(existing))
    known_referrers = file_phones | set(existing)
    for start in range(0, len(referrer_phones), CHUNK):
        known_referrers.update(
            Member.objects.filter(phone__in=referrer_phones[start : start + CHUNK]).values_list(
                "phone", flat=True
            )
        )
    card_nos = [r["card_no"] for r in clean if r["card_no"]]
    free_cards = set()
    for start in range(0, len(card_nos), CHUNK):
        free_cards.update(
            Card.objects.filter(
                card_no__in=card_nos[start : start + CHUNK], status=Card.Status.UNISSUED
            ).values_list("card_no", flat=True)
        )
    to_open, updates, cards_taken = [], {}, set()
    for row in clean:
        values = row.pop("_values")
        reason = None
        if row["phone"] in existing:
            if update_existing:
                updates[existing[row["phone"]]] = {
                    name: row[name]
                    for name in ("name", "gender", "birthday", "email", "address", "notes")
                    if row[name] not in ("", None) and not (name == "gender" and row[name] == "U")
                }
                continue
            result.duplicates += 1
            result.problems.append(
                RowProblem(
                    row["row_no"],
                    _("Already a member; not changed (use update existing to change the profile)."),
                    _original(values, width),
                )
            )
            continue
        if row["referrer_phone"] and row["referrer_phone"] not in known_referrers:
            reason = _("The referrer %(phone)s is not a member.") % {"phone": row["referrer_phone"]}
        elif row["card_no"] and (row["card_no"] not in free_cards or row["card_no"] in cards_taken):
            reason = _("Card %(card)s is unknown, already issued, or used twice in the file.") % {
                "card": row["card_no"]
            }
        if reason:
            result.rejected += 1
            result.problems.append(RowProblem(row["row_no"], reason, _original(values, width)))
            continue
        if row["card_no"]:
            cards_taken.add(row["card_no"])
        to_open.append(row)
    if progress:
        progress(60)

    # 3. Write (nothing on a dry run).
    if dry_run:
        result.imported = len(to_open)
        result.updated = len(updates)
    else:
        opened = bulk_open_members(rows=to_open, source=source_kind, actor=actor)
        result.imported = len(opened)
        skipped = [row for row in to_open if row["phone"] not in opened]
        for row in skipped:  # became members meanwhile (another import, a till)
            result.duplicates += 1
            result.problems.append(
                RowProblem(row["row_no"], _("Already a member; not changed."), [row["phone"]])
            )
        if updates:
            result.updated = bulk_update_member_profiles(
                updates=updates, source=source_kind, actor=actor
            )
    result.problems.sort(key=lambda problem: problem.row_no)
    result.seconds = time.monotonic() - started
    if progress:
        progress(100)
    return result


def write_error_report(result: ImportResult, target) -> None:
    """The rows that were not imported, as .xlsx: Excel row number, reason, original values."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Errors"))
    sheet.append([_("Row"), _("Reason"), *result.headers])
    for problem in result.problems:
        sheet.append([problem.row_no, problem.reason, *problem.values])
    workbook.save(target)


def write_template(target) -> None:
    """The empty import template with its Chinese headers and one example row."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Members"))
    sheet.append(TEMPLATE_HEADERS)
    sheet.append(
        [
            "13812345678", "张三", "男", "1990-01-02", "zhangsan@example.com", "上海市徐汇区",
            "", 100, "50.00", "SH001", "", "", "",
        ]
    )  # fmt: skip
    workbook.save(target)
