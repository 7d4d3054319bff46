"""Bulk operations over members as background jobs (BulkJob): selected by the member list's
filter, run a chunk of members at a time through the ordinary services, with progress.

Each operation is registered here by the app that owns its service: members registers tier,
tag and status changes; loyalty registers "adjust points" and "award points from a file";
campaigns registers "issue coupons" the same way (`register("issue_coupons", ...)` in its
AppConfig.ready(), plus an admin action that calls `start_filter_job`). The job runner knows
nothing of what an operation does: it finds the members again by the filter, hands the
operation a queryset of CHUNK of them, and commits that chunk with the job's resume point.
"""

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import excel
from members.models import BulkJob, BulkJobProblem, Member
from members.queueing import JobSuperseded, claim, owned, queue_job, reap, update_owned

CHUNK = settings.BULK_JOB_CHUNK
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class BulkOperation:
    """`run(members=<queryset of one chunk>, params=, actor=, job=)` -> (done, problems), where
    problems is [(row_no, reason, values)]; or, for a file operation (`reads_file`),
    `run(rows=[(row_no, values)], params=, actor=, job=)` over a chunk of the file's rows."""

    kind: str
    label: str
    run: object
    reads_file: bool = False


OPERATIONS: dict[str, BulkOperation] = {}


def register(kind, label, run, *, reads_file=False):
    OPERATIONS[kind] = BulkOperation(kind, label, run, reads_file)


def columns_of(header, names):
    """{key: index} of a file's columns, row 1's titles read through `names` ({title as head
    office types it: key}, spaces ignored); the first column of each key wins."""
    columns = {}
    for index, title in enumerate(header):
        key = names.get(str(title or "").replace(" ", "").strip())
        if key and key not in columns:
            columns[key] = index
    return columns


# --- starting a job ----------------------------------------------------------------------


def start_filter_job(*, request, kind, params, actor) -> BulkJob:
    """A job over the members the member list shows for this request's filter and search
    (its query string), started once the job row is committed."""
    if kind not in OPERATIONS:
        raise ValueError(f"unknown bulk operation {kind}")
    job = BulkJob.objects.create(
        kind=kind, filter=_filter_of(request), params=params, created_by=actor
    )
    queue_job(job)
    return job


def start_file_job(*, kind, upload, params, actor) -> BulkJob:
    job = BulkJob.objects.create(
        kind=kind, file=upload, original_name=upload.name[:200], params=params, created_by=actor
    )
    queue_job(job)
    return job


def _filter_of(request):
    query = request.GET.copy()
    for name in ("p", "o", "_changelist_filters"):
        query.pop(name, None)
    return query.urlencode()


def members_for_filter(user, query):
    """The members the admin member list shows `user` for filter `query` (same list filters,
    search and store scope as the page: it is the page's own queryset)."""
    from django.contrib import admin

    model_admin = admin.site._registry[Member]
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(query)
    request.user = user
    request.META["SERVER_NAME"], request.META["SERVER_PORT"] = "localhost", "80"
    changelist = model_admin.get_changelist_instance(request)
    return changelist.get_queryset(request)


# --- running a job -----------------------------------------------------------------------


def run_bulk_job(*, job_id) -> BulkJob:
    """Run (or resume) one bulk job. Claimed by a conditional UPDATE: a duplicated task does
    nothing. Each chunk commits with the job's counters and resume point, while this
    worker's claim holds (a worker taken for dead that wakes up rolls its chunk back)."""
    claimed = claim(BulkJob, job_id)
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    if job.attempts > MAX_ATTEMPTS:
        return _fail(job, _("The job stopped %(n)d times; giving up.") % {"n": job.attempts - 1})
    operation = OPERATIONS.get(job.kind)
    try:
        if operation is None:
            return _fail(job, _("Unknown operation %(kind)s.") % {"kind": job.kind})
        if operation.reads_file:
            _run_file(job, operation)
        else:
            _run_filter(job, operation)
    except JobSuperseded:
        return BulkJob.objects.get(pk=job_id)  # another worker took over: it finishes
    except (OperationalError, InterfaceError):
        # The database went away: the job stays RUNNING and the reaper resumes it after its
        # last committed chunk once the database is back (not the job's fault: no FAILED).
        raise
    except Exception as exc:
        _fail(job, _("The job stopped with an unexpected error: %(error)s") % {"error": exc})
        raise
    return _finish(job)


def _run_filter(job, operation):
    members = members_for_filter(job.created_by, job.filter).order_by("pk")
    if not job.total:
        job.total = members.count()
        BulkJob.objects.filter(pk=job.pk).update(total=job.total)
    while True:
        ids = list(members.filter(pk__gt=job.last_member_id).values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return
        with transaction.atomic():
            done, problems = operation.run(
                members=Member.objects.filter(pk__in=ids),
                params=job.params,
                actor=job.created_by,
                job=job,
            )
            _checkpoint(job, processed=len(ids), done=done, problems=problems, last=ids[-1])


def _run_file(job, operation):
    from members.importing.reader import iter_rows

    with job.file.open("rb") as upload:
        file_format = (job.original_name or job.file.name).rsplit(".", 1)[-1]
        sizes = [0]
        rows = iter_rows(upload, file_format=file_format, on_total=sizes.append, skip_header=False)
        header = next(rows, None)
        job.params = {**job.params, "header": [str(v or "") for v in (header or (0, []))[1]]}
        chunk = []
        for row_no, values in rows:
            if row_no <= job.rows_done:
                continue
            chunk.append((row_no, values))
            if len(chunk) >= CHUNK:
                _file_chunk(job, operation, chunk, sizes[-1])
                chunk = []
        if chunk:
            _file_chunk(job, operation, chunk, sizes[-1])


def _file_chunk(job, operation, chunk, total):
    with transaction.atomic():
        done, problems = operation.run(rows=chunk, params=job.params, actor=job.created_by, job=job)
        job.total = max(total - 1, job.total)
        _checkpoint(job, processed=len(chunk), done=done, problems=problems, rows=chunk[-1][0])


def _checkpoint(job, *, processed, done, problems, last=None, rows=None):
    """The chunk's problems and the job's counters and resume point, in the chunk's
    transaction: either the chunk and its checkpoint commit, or neither."""
    if problems:
        BulkJobProblem.objects.bulk_create(
            [
                BulkJobProblem(
                    job=job, row_no=row_no, reason=str(reason)[:2000],
                    values=[v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                            for v in values],
                )
                for row_no, reason, values in problems
            ]
        )  # fmt: skip
    job.processed += processed
    job.succeeded += done
    job.failed += len(problems)
    if last is not None:
        job.last_member_id = last
    if rows is not None:
        job.rows_done = rows
    job.progress = min(99, int(job.processed * 100 / job.total)) if job.total else 99
    job.heartbeat_at = timezone.now()
    fields = ["processed", "succeeded", "failed", "last_member_id", "rows_done", "progress",
              "heartbeat_at", "total"]  # fmt: skip
    update_owned(job, **{name: getattr(job, name) for name in fields})


def _finish(job):
    job.progress = 100
    job.finished_at = timezone.now()
    job.message = _("%(done)d done, %(failed)d refused, of %(total)d.") % {
        "done": job.succeeded,
        "failed": job.failed,
        "total": job.processed,
    }
    if job.problems.exists():
        buffer = io.BytesIO()
        write_problem_report(job, buffer)
        job.report.save(f"bulk-errors-{job.pk}.xlsx", ContentFile(buffer.getvalue()), save=False)
    try:
        update_owned(job, status=BulkJob.Status.DONE, progress=100, finished_at=job.finished_at,
                     message=job.message, report=job.report, params=job.params)  # fmt: skip
    except JobSuperseded:
        return BulkJob.objects.get(pk=job.pk)
    job.status = BulkJob.Status.DONE
    return job


def write_problem_report(job, target):
    """The rows or members the job could not do, as .xlsx: row, reason, the original values
    (the member import's error report, same shape)."""
    workbook = excel.Book()
    sheet = workbook.sheet(_("Errors"))
    headers = [str(h or "") for h in job.params.get("header", [])]
    sheet.header([_("Row"), _("Reason"), *headers])
    rows = job.problems.order_by("row_no", "id").values_list("row_no", "reason", "values")
    for row_no, reason, values in rows.iterator(chunk_size=5000):
        sheet.row(excel.problem_row(row_no, reason, values, headers))
    workbook.save(target)


def _fail(job, message):
    job.message, job.finished_at = message[:1000], timezone.now()
    if owned(job).update(status=BulkJob.Status.FAILED, message=job.message,
                         finished_at=job.finished_at):  # fmt: skip
        job.status = BulkJob.Status.FAILED
    return job


def reap_bulk_jobs() -> list[int]:
    """Queue again the bulk jobs that are stuck (members.queueing.stuck); the ids queued."""
    return reap(BulkJob)[0]


# --- the members' own operations -----------------------------------------------------------


def _change_tier(*, members, params, actor, job):
    from core.models import Source
    from members.models import Tier
    from members.services import change_members_tier

    tier = Tier.objects.get(pk=params["tier"])
    return change_members_tier(members=members, tier=tier, source=Source.TASK, actor=actor), []


def _tag(*, members, params, actor, job):
    from core.models import Source
    from members.services import tag_members

    return tag_members(members=members, tag=params["tag"], source=Source.TASK, actor=actor), []


def _status(status):
    def run(*, members, params, actor, job):
        from core.models import Source
        from members.services import set_members_status

        done = set_members_status(members=members, status=status, source=Source.TASK, actor=actor)
        return done, []

    return run


register("change_tier", gettext_lazy("Change tier"), _change_tier)
register("tag", gettext_lazy("Add a tag"), _tag)
register("freeze", gettext_lazy("Freeze"), _status(Member.Status.FROZEN))
register("unfreeze", gettext_lazy("Unfreeze"), _status(Member.Status.ACTIVE))
