"""Member import: the one path shared by the admin, the Celery job and `import_members`.

read (calamine / CSV) -> validate every row in Python with the normalizers -> check the batch
against the database (phones already members, referrers, cards) -> write: on PostgreSQL one
COPY into a staging table and set-based inserts (`members.services.bulk_open_members`), on
SQLite the same rows through `open_member`. Invalid rows are rejected whole with a reason in
Chinese; the error report names each by the row number Excel shows (header = row 1).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import excel
from core.sql import column, table
from members.models import Card, ConsentChannel, ConsentDoor, ImportProblem, Member, Tier
from members.models.member import name_initials
from members.queueing import update_owned
from members.services.consent import bulk_record_consent
from members.services.members import (
    PROFILE_FIELDS,
    bulk_open_members,
    bulk_update_member_profiles,
)
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
from .reader import FileReadError, count_rows, iter_rows

# The template's columns, in order (what head office downloads and fills in).
TEMPLATE_HEADERS = [
    "手机号", "姓名", "性别", "生日", "邮箱", "地址", "会员等级", "积分", "储值余额",
    "开卡门店", "推荐人手机号", "会员卡号", "备注", "营销授权",
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
    # optional: 是 / 短信 / 微信 / 短信,微信 / 否; recorded as agreed through the import
    "营销授权": "marketing_consent",
}
MAX_STORED_VALUE = 10**10
# Rows validated, checked and written per transaction: big enough that the per-chunk statements
# cost little, small enough that memory stays flat and a resumed job redoes little, and that
# the writers start soon and finish soon after the last row is read (10,000 rows: 100k rows in
# 9.4 s against 9.9 s with 20,000, xlsx and CSV alike; docs/benchmarks.md).
CHUNK = 10000


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


_BLANK = {
    normalize_text: "",
    normalize_gender: "U",
    normalize_birthday: None,
    normalize_points: 0,
    normalize_money: Decimal("0.00"),
}


def _clean(values, columns, ctx):
    """One row as the dict bulk_open_members takes, or RowError with every problem found."""
    errors, row = [], {}

    width = len(values)

    def take(key, function, *args, **kwargs):
        index = columns.get(key)
        value = values[index] if index is not None and index < width else None
        if value is None and function is not normalize_phone:
            # An empty cell (most optional columns of a big file): what each normalizer
            # answers for blank, without the call.
            return _BLANK.get(function)
        try:
            return function(value, *args, **kwargs)
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
    row["marketing_consent"] = ()
    consent = _cell(values, columns, "marketing_consent")
    if consent not in (None, ""):
        try:
            row["marketing_consent"] = consent_channels(consent)
        except RowError as exc:
            errors.append(str(exc.message))
    if errors:
        raise RowError("；".join(errors))
    row["name_initials"] = name_initials(row["name"])
    return row


CONSENT_YES = {"是", "同意", "y", "yes", "1", "true", "√", "✓"}
CONSENT_NO = {"否", "不同意", "n", "no", "0", "false", "×"}
CONSENT_WORDS = {"短信": ConsentChannel.SMS, "sms": ConsentChannel.SMS,
                 "微信": ConsentChannel.WECHAT, "wechat": ConsentChannel.WECHAT}  # fmt: skip


def consent_channels(value):
    """The channels a 营销授权 cell agrees to: 是 (SMS), 短信, 微信, 短信,微信 (any separator), or
    否 / empty (none). Anything else is a row error."""
    text = str(int(value) if isinstance(value, float) and value.is_integer() else value)
    text = text.strip().lower()
    if text in CONSENT_NO:
        return ()
    if text in CONSENT_YES:
        return (ConsentChannel.SMS,)
    parts = [p for p in re.split(r"[\s,，、/+;；和]+", text) if p]
    if parts and all(p in CONSENT_WORDS for p in parts):
        return tuple(dict.fromkeys(CONSENT_WORDS[p] for p in parts))
    raise RowError(_("Marketing consent must be 是, 否, 短信, 微信 or 短信,微信: %(value)s")
                   % {"value": text[:20]})  # fmt: skip


def _original(values, width):
    shown = []
    for value in list(values)[:width]:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        shown.append(value)
    return shown


class _MemorySink:
    """Problems kept in memory (the command line and tests: no job row)."""

    def __init__(self, result):
        self.result = result

    def add(self, problem):
        self.result.problems.append(problem)

    def flush(self):
        pass

    def rows(self):
        return set()

    def all(self):
        return sorted(self.result.problems, key=lambda problem: problem.row_no)


class _JobSink:
    """Problems written to the job's ImportProblem rows with the chunk they belong to, so memory
    holds one chunk's problems at most and a resumed job still has the earlier ones."""

    def __init__(self, job):
        self.job = job
        self.pending = []

    def add(self, problem):
        self.pending.append(problem)

    def flush(self):
        if self.pending:
            ImportProblem.objects.bulk_create(
                [
                    ImportProblem(
                        job=self.job,
                        row_no=p.row_no,
                        reason=str(p.reason)[:2000],
                        values=[_jsonable(v) for v in p.values],
                    )
                    for p in self.pending
                ],
                batch_size=2000,
            )
            self.pending = []

    def rows(self):
        return set(self.job.problems.values_list("row_no", flat=True))

    def all(self):
        return (
            RowProblem(row_no, reason, values)
            for row_no, reason, values in self.job.problems.order_by("row_no", "id")
            .values_list("row_no", "reason", "values")
            .iterator(chunk_size=5000)
        )


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass
class _Chunk:
    """One chunk on its way: its rows that passed validation, its problems and its counts,
    applied to the result (and the job) only when the chunk commits."""

    last_row: int
    clean: list
    problems: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n


class _Run:
    """What one import carries from chunk to chunk: the phones seen so far (first row wins),
    the rows held back until the end (their referrer comes later in the file)."""

    def __init__(self, *, ctx, columns, width, result, dry_run, update_existing,
                 registration_bonus, actor, source_kind):  # fmt: skip
        self.ctx, self.columns, self.width = ctx, columns, width
        self.result = result
        self.dry_run, self.update_existing = dry_run, update_existing
        self.registration_bonus = registration_bonus
        self.actor, self.source_kind = actor, source_kind
        # phone (as int: a third of the memory of a str) -> its first row; negative when that
        # row was not (or not yet) imported.
        self.first_row = {}
        self.deferred = []
        # What the previous chunk gave: its cards and the members it opened {phone: id}. With
        # two writers that chunk may not be committed yet when the next one runs, so a card
        # it took is refused here and its members are named by id, not looked up; anything
        # older is committed and found in the database.
        self.previous_cards = set()
        self.previous_opened = {}

    def problem(self, chunk, row_no, reason, values):
        chunk.problems.append(RowProblem(row_no, reason, _original(values, self.width)))

    def validate(self, rows, last_row):
        """The chunk of `rows`: those that passed the normalizers and are the first of their
        phone, the others as problems. Reads no database (it runs beside the writer)."""
        chunk = _Chunk(last_row, [])
        for row_no, values in rows:
            chunk.count("rows_read")
            try:
                row = _clean(values, self.columns, self.ctx)
            except RowError as exc:
                chunk.count("rejected")
                self.problem(chunk, row_no, str(exc.message), values)
                continue
            key = int(row["phone"])
            first = self.first_row.get(key)
            if first is not None:
                chunk.count("duplicates")
                reason = _("Duplicate phone in the file: first seen in row %(row)d.") % {
                    "row": abs(first)
                }
                self.problem(chunk, row_no, reason, values)
                continue
            self.first_row[key] = -row_no
            row["row_no"] = row_no
            chunk.clean.append((row, values))
        return chunk

    def write(self, chunk, *, final=False):
        """Check the chunk against the database and write it (nothing on a dry run). Rows whose
        referrer is neither a member nor in this chunk wait for the end (`final`)."""
        clean = chunk.clean
        phones = [row["phone"] for row, _values in clean]
        existing = _members_by_phone(phones)
        in_chunk = set(phones) - set(existing)
        referrers = {row["referrer_phone"] for row, _values in clean if row["referrer_phone"]}
        members_referred = set(_members_by_phone(list(referrers - in_chunk - set(existing))))
        free_cards = _free_cards([row["card_no"] for row, _values in clean if row["card_no"]])
        to_open, updates, cards_taken, opening = [], {}, set(), []
        for row, values in clean:
            phone = row["phone"]
            if phone in existing:
                if self.update_existing:
                    updates[existing[phone]] = {
                        name: row[name]
                        for name in PROFILE_FIELDS
                        if row[name] not in ("", None)
                        and not (name == "gender" and row[name] == "U")
                    }
                    continue
                chunk.count("duplicates")
                self.problem(
                    chunk,
                    row["row_no"],
                    _("Already a member; not changed (use update existing to change the profile)."),
                    values,
                )
                continue
            referrer = row["referrer_phone"]
            known = (
                not referrer
                or referrer in in_chunk
                or referrer in existing
                or referrer in members_referred
                or self.first_row.get(int(referrer), 0) > 0
            )
            if not known and not final:
                self.deferred.append((row, values))
                continue
            reason = None
            if not known:
                reason = _("The referrer %(phone)s is not a member.") % {"phone": referrer}
            elif row["card_no"] and (
                row["card_no"] not in free_cards
                or row["card_no"] in cards_taken
                or row["card_no"] in self.previous_cards
            ):
                reason = _("Card %(card)s is unknown, already issued, or used twice in the file.")
                reason %= {"card": row["card_no"]}
            if reason:
                chunk.count("rejected")
                self.problem(chunk, row["row_no"], reason, values)
                continue
            if row["card_no"]:
                cards_taken.add(row["card_no"])
            row["referrer_id"] = self.previous_opened.get(referrer) if referrer else None
            to_open.append(row)
            opening.append((row, values))
        if self.dry_run:
            chunk.count("imported", len(to_open))
            chunk.count("updated", len(updates))
            for row in to_open:
                self.first_row[int(row["phone"])] = row["row_no"]
            return
        opened = bulk_open_members(
            rows=to_open,
            source=self.source_kind,
            actor=self.actor,
            registration_bonus=self.registration_bonus,
        )
        chunk.count("imported", len(opened))
        self._record_consent(to_open, opened)
        self.previous_opened, self.previous_cards = opened, cards_taken
        for row, values in opening:
            if row["phone"] in opened:
                self.first_row[int(row["phone"])] = row["row_no"]
            else:  # became a member meanwhile (another import, a till)
                chunk.count("duplicates")
                self.problem(chunk, row["row_no"], _("Already a member; not changed."), values)
        if updates:
            chunk.count(
                "updated",
                bulk_update_member_profiles(
                    updates=updates, source=self.source_kind, actor=self.actor
                ),
            )

    def _record_consent(self, rows, opened):
        """The 营销授权 column of the members this chunk opened, in its transaction (door:
        import). Members updated by the import keep the consent they have."""
        by_channel = {}
        for row in rows:
            member_id = opened.get(row["phone"])
            if member_id is None:
                continue
            for channel in row.get("marketing_consent") or ():
                by_channel.setdefault(channel, []).append(member_id)
        for channel, member_ids in by_channel.items():
            bulk_record_consent(
                member_ids=member_ids, channel=channel, granted=True, door=ConsentDoor.IMPORT,
                source=self.source_kind, actor=self.actor,
            )  # fmt: skip


class _Writer:
    """Writes chunks from threads of their own (each with its database connection), so the
    next chunk is read and validated in Python while PostgreSQL writes this one.

    Two lanes take the chunks in turn. A chunk's statements start only when the previous
    chunk's statements are done, and it commits only after the previous chunk committed: the
    file's order, the resume point and everything the run remembers stay as if one thread
    wrote them all, but one chunk's COMMIT (its deferred foreign-key checks: about a third of
    an import's time in PostgreSQL) runs while the next chunk's inserts do. So at most the
    previous chunk is uncommitted when a chunk runs (`_Run.previous_opened`). Memory holds
    two chunks per lane at most."""

    LANES = 2

    def __init__(self, write, committed):
        import queue
        import threading

        self.write, self.committed = write, committed
        self.queues = [queue.Queue(maxsize=1) for _ in range(self.LANES)]
        self.cond = threading.Condition()
        self.sent = self.stated = self.done = 0  # chunks sent, written, committed (in order)
        self.error = None
        self.threads = [
            threading.Thread(target=self._loop, args=(q,), name=f"import-writer-{n}", daemon=True)
            for n, q in enumerate(self.queues)
        ]
        for thread in self.threads:
            thread.start()

    def _wait(self, name, seq):
        """Until counter `name` reaches seq; raise if a lane failed before it did."""
        with self.cond:
            self.cond.wait_for(lambda: getattr(self, name) >= seq or self.error is not None)
            if getattr(self, name) < seq:
                raise _Abandoned()

    def _set(self, name, seq):
        with self.cond:
            setattr(self, name, seq)
            self.cond.notify_all()

    def _loop(self, lane):
        from django.db import connections

        try:
            while (item := lane.get()) is not None:
                seq, chunk = item
                try:
                    self._wait("stated", seq - 1)
                    with transaction.atomic():
                        self.write(chunk)
                        self._set("stated", seq)
                        self._wait("done", seq - 1)
                    self._set("done", seq)
                    self.committed(chunk)
                except _Abandoned:
                    pass  # an earlier chunk failed: this one rolled back; its error is raised
                except BaseException as exc:  # noqa: B036  (handed to the reading thread)
                    with self.cond:
                        self.error = self.error or exc
                        self.cond.notify_all()
        finally:
            connections.close_all()

    def put(self, chunk):
        if self.error is not None:
            raise self.error
        self.sent += 1
        self.queues[self.sent % self.LANES].put((self.sent, chunk))

    def finish(self):
        for lane in self.queues:
            lane.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error


class _Abandoned(Exception):
    """A lane gives up its chunk because an earlier chunk failed."""


def _members_by_phone(phones):
    """{phone: member id} of the phones that are members: one query with one array parameter
    (an IN list of 20,000 placeholders costs more to send and plan than to run)."""
    if not phones:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_BY_PHONE, [list(phones)])
        return dict(cursor.fetchall())


def _free_cards(card_nos):
    if not card_nos:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_FREE_CARDS, [list(card_nos), Card.Status.UNISSUED])
        return {card_no for (card_no,) in cursor.fetchall()}


_BY_PHONE = (
    f"SELECT {column(Member, 'phone')}, id FROM {table(Member)} "
    f"WHERE {column(Member, 'phone')} = ANY(%s::varchar[])"
)
_FREE_CARDS = (
    f"SELECT {column(Card, 'card_no')} FROM {table(Card)} "
    f"WHERE {column(Card, 'card_no')} = ANY(%s::varchar[]) AND {column(Card, 'status')} = %s"
)


def import_members(
    source,
    *,
    actor=None,
    source_kind="import",
    dry_run=False,
    update_existing=False,
    registration_bonus=False,
    allowed_store_ids=ALL_STORES,
    file_format=None,
    progress=None,
    job=None,
    chunk_size=None,
    parallel=True,
) -> ImportResult:
    """Import members from an .xlsx / .csv file (path or file object). See the module doc.

    Rules: blank rows are skipped; an invalid row is rejected whole; a phone seen earlier in
    the file is a duplicate (the first row wins); a phone already a member is reported and
    left alone, unless `update_existing` (profile fields only, never balances). Re-running the
    same file imports nothing twice (the phone is unique). Imported members get no
    registration bonus (they were members of the old system already) unless
    `registration_bonus`: then the bonus in force today, once per member, as `open_member`
    grants it. `progress(percent)` is called after each chunk.

    Streams: `chunk_size` rows at a time are validated, checked and written in their own
    transaction; only the problem rows are kept. With `job` (an ImportJob), the problems go to
    its ImportProblem rows and each chunk commits with the job's counters and `rows_done`, so
    a job that stopped resumes after its last committed chunk. With `parallel` (and outside a
    caller's transaction), chunks are written by two threads in turn while the next is read
    (see _Writer).
    """
    started = time.monotonic()
    chunk_size = chunk_size or CHUNK
    result = ImportResult(dry_run=dry_run)
    sizes = [max(count_rows(source, file_format=file_format), 1)]
    rows = iter_rows(source, file_format=file_format, on_total=sizes.append, skip_header=False)
    # One pass: a workbook is parsed once (calamine reads a whole sheet when it opens it).
    first = next(rows, None)
    header = [normalize_text(value) for value in first[1]] if first and first[0] == 1 else []
    if first and first[0] != 1:
        rows = itertools.chain([first], rows)
    columns = _column_map(header)
    result.headers = header
    width = len(header)
    ctx = _Context(allowed_store_ids)
    resume_after = 0
    if job is not None:
        sink = _JobSink(job)
        resume_after = job.rows_done
        if resume_after:
            for name in ("rows_read", "imported", "updated", "rejected", "duplicates"):
                setattr(result, name, getattr(job, name))
    else:
        sink = _MemorySink(result)
    run = _Run(
        ctx=ctx, columns=columns, width=width, result=result, dry_run=dry_run,
        update_existing=update_existing, registration_bonus=registration_bonus, actor=actor,
        source_kind=source_kind,
    )  # fmt: skip
    if resume_after:
        rows = _resume(run, rows, resume_after, sink.rows())

    def write(chunk, final=False):
        """The chunk's writes, in the transaction the caller holds open."""
        run.write(chunk, final=final)
        for problem in chunk.problems:
            sink.add(problem)
        sink.flush()
        for name, n in chunk.counts.items():
            setattr(result, name, getattr(result, name) + n)
        if job is not None:
            _checkpoint(job, result, chunk.last_row, started, percent_done(chunk.last_row))

    def percent_done(last_row):
        # A sheet that does not say its height (some writers leave out <dimension>) reads 0:
        # its progress waits for the end.
        total = sizes[-1]
        return min(99, int(last_row * 100 / total)) if total > 1 else 0

    reported = [0]  # two writer threads report: never go back

    def committed(chunk):
        percent = percent_done(chunk.last_row)
        if progress and percent > reported[0]:
            reported[0] = percent
            progress(percent)

    def commit(chunk, final=False):
        with transaction.atomic():
            write(chunk, final=final)
        committed(chunk)

    # Inside a caller's transaction (a test, an admin request) everything stays on its
    # connection; a job or the command writes from threads of their own while this one reads.
    writer = _Writer(write, committed) if parallel and not connection.in_atomic_block else None
    send = writer.put if writer else commit
    rows_in_chunk, last_row = [], resume_after
    try:
        for row_no, values in rows:
            rows_in_chunk.append((row_no, values))
            last_row = row_no
            if len(rows_in_chunk) >= chunk_size:
                send(run.validate(rows_in_chunk, last_row))
                rows_in_chunk = []
        if rows_in_chunk:
            send(run.validate(rows_in_chunk, last_row))
    finally:
        if writer:
            writer.finish()
    # Rows whose referrer was neither a member nor earlier in the file: now every row is in.
    while run.deferred:
        held, run.deferred = run.deferred, []
        commit(_Chunk(last_row, held), final=True)
    result.seconds = time.monotonic() - started + (job.seconds if resume_after else 0)
    if job is None:
        result.problems.sort(key=lambda problem: problem.row_no)
    if progress:
        progress(100)
    return result


def _checkpoint(job, result, last_row, started, percent):
    """The job's counters and resume point, in the chunk's transaction."""
    job.rows_done = last_row
    job.progress = percent
    job.heartbeat_at = timezone.now()
    fields = ["rows_done", "progress", "heartbeat_at"]
    for name in ("rows_read", "imported", "updated", "rejected", "duplicates"):
        setattr(job, name, getattr(result, name))
        fields.append(name)
    # Only while this worker's claim holds: a worker taken for dead that wakes up again rolls
    # its chunk back here (JobSuperseded) instead of importing it beside its successor.
    update_owned(job, **{name: getattr(job, name) for name in fields})


def _resume(run, rows, resume_after, problem_rows):
    """Skip the rows of the committed chunks. Of those, the ones held back for a later
    referrer were neither imported nor reported: hold them back again."""
    held = []
    for row_no, values in rows:
        if row_no > resume_after:
            if held:
                _hold_back_again(run, held, problem_rows)
                held = []
            yield row_no, values
            continue
        if row_no in problem_rows or _cell(values, run.columns, "referrer_phone") in (None, ""):
            continue
        held.append((row_no, values))
    if held:
        _hold_back_again(run, held, problem_rows)


def _hold_back_again(run, held, problem_rows):
    clean = []
    for row_no, values in held:
        try:
            row = _clean(values, run.columns, run.ctx)
        except RowError:
            continue
        row["row_no"] = row_no
        clean.append((row, values))
    members = _members_by_phone([row["phone"] for row, _values in clean])
    for row, values in clean:
        if row["phone"] not in members:
            run.first_row.setdefault(int(row["phone"]), -row["row_no"])
            run.deferred.append((row, values))


def write_error_report(result: ImportResult, target, problems=None) -> None:
    """The rows that were not imported, as .xlsx: Excel row number, reason, original values.
    `problems` (an iterable, e.g. a job's rows) defaults to the result's own."""
    workbook = excel.Book()
    sheet = workbook.sheet(_("Errors"))
    headers = [str(h or "") for h in result.headers]
    sheet.header([_("Row"), _("Reason"), *headers])
    for problem in result.problems if problems is None else problems:
        sheet.row(excel.problem_row(problem.row_no, problem.reason, problem.values, headers))
    workbook.save(target)


def write_template(target) -> None:
    """The empty import template with its Chinese headers and one example row."""
    workbook = excel.Book()
    sheet = workbook.sheet(_("Members"))
    sheet.header(TEMPLATE_HEADERS)
    sheet.row(
        [
            excel.text("13812345678"), "张三", "男", "1990-01-02", "zhangsan@example.com",
            "上海市徐汇区", "", excel.count(100), excel.money(Decimal("50.00")),
            excel.text("SH001"), "", "", "",
        ]
    )  # fmt: skip
    workbook.save(target)
