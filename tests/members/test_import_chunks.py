"""The import at scale: chunked commits, resume after a killed worker, the reaper, the
registration bonus option, referrers later in the file, set-based profile updates."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Source
from loyalty.models import BonusRule, PointsEntry
from members import hooks
from members.importing import members as importing
from members.importing.jobs import reap_import_jobs, run_import_job
from members.importing.members import import_members
from members.models import ImportJob, Member
from members.services import open_member
from tests.members.xlsx import member_row, read_rows, write_workbook

pytestmark = pytest.mark.django_db


def store(**values):
    return {"开卡门店": "SH001", **values}


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(importing, "CHUNK", 3)


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing in the import catches it."""


def _job(tmp_path, rows, **fields):
    path = write_workbook(tmp_path / "m.xlsx", rows)
    job = ImportJob(original_name="m.xlsx", **fields)
    job.file.save("m.xlsx", ContentFile(path.read_bytes()))
    return job


def test_a_job_killed_halfway_is_reaped_and_resumes_after_its_last_chunk(
    tmp_path, chain, head_office, small_chunks, settings, check_ledgers
):
    rows = [member_row(f"1380000{i:04d}", **store(积分=10, 储值余额=5)) for i in range(8)]
    rows[1] = member_row("bad", **store())  # row 3: a problem in the first chunk
    rows[6] = member_row("13800000000", **store())  # row 8: duplicate of row 2, third chunk
    job = _job(tmp_path, rows, created_by=head_office)
    calls = []

    def die_on_the_second_chunk(**kwargs):
        calls.append(len(kwargs["opened"]))
        if len(calls) == 2:
            raise Killed

    hooks.members_imported.connect(die_on_the_second_chunk)
    try:
        with pytest.raises(Killed):
            run_import_job(job_id=job.pk)
    finally:
        hooks.members_imported.disconnect(die_on_the_second_chunk)

    job.refresh_from_db()
    # The first chunk (rows 2-4) committed with its checkpoint; the second rolled back.
    assert (job.status, job.rows_done, job.imported, job.rejected) == ("running", 4, 2, 1)
    assert Member.objects.count() == 2
    assert reap_import_jobs() == []  # still beating: not taken for dead

    settings.IMPORT_JOB_STALE_SECONDS = 0
    assert reap_import_jobs() == [job.pk]  # eager Celery in tests: resumed right here

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.rows_read, job.imported, job.rejected, job.duplicates) == (8, 6, 1, 1)
    assert Member.objects.count() == 6
    assert PointsEntry.objects.filter(kind="opening").count() == 6  # none posted twice
    report = read_rows(job.report.path)
    assert [line[0] for line in report[1:]] == [3, 8]
    check_ledgers()


def test_a_finished_job_is_not_resumed_and_a_running_one_is_claimed_once(
    tmp_path, chain, head_office
):
    job = _job(tmp_path, [member_row("13800000001", **store())], created_by=head_office)
    run_import_job(job_id=job.pk)
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.imported) == ("done", 1, 1)


def test_an_import_grants_no_registration_bonus_unless_asked(tmp_path, chain, check_ledgers):
    BonusRule.objects.create(name="注册有礼", kind=BonusRule.Kind.REGISTRATION, points=88)
    path = write_workbook(tmp_path / "a.xlsx", [member_row("13800000001", **store(积分=10))])
    import_members(path)
    migrated = Member.objects.get(phone="13800000001")
    assert migrated.points_account.balance == 10
    assert not PointsEntry.objects.filter(kind="bonus").exists()

    path = write_workbook(
        tmp_path / "b.xlsx",
        [member_row("13800000002", **store(积分=10)), member_row("13800000003", **store())],
    )
    call_command("import_members", str(path), "--registration-bonus")
    call_command("import_members", str(path), "--registration-bonus")  # a rerun pays nothing
    for phone, balance in (("13800000002", 98), ("13800000003", 88)):
        member = Member.objects.get(phone=phone)
        bonus = PointsEntry.objects.get(kind="bonus", account__member=member)
        assert bonus.key == f"bonus:registration:{member.pk}"  # open_member's key
        assert (bonus.points, bonus.balance_after) == (88, balance)
        assert member.points_account.balance == balance
        assert member.points_account.lots.filter(remaining=88).exists()
    # The bonus a till opening paid is the same key: a member is never paid twice.
    opened = open_member(phone="13800000004", home_store=chain["SH001"], source=Source.TILL)
    from loyalty.services.opening import grant_registration_bonuses

    assert grant_registration_bonuses(members=[(opened.pk, None)], source=Source.IMPORT) == 0
    assert PointsEntry.objects.filter(kind="bonus").count() == 3
    check_ledgers()


def test_the_admin_job_grants_the_bonus_when_its_box_is_ticked(
    tmp_path, chain, head_office, check_ledgers
):
    BonusRule.objects.create(name="注册有礼", kind=BonusRule.Kind.REGISTRATION, points=50)
    job = _job(
        tmp_path,
        [member_row("13800000001", **store())],
        created_by=head_office,
        registration_bonus=True,
    )
    run_import_job(job_id=job.pk)
    assert Member.objects.get().points_account.balance == 50
    check_ledgers()


def test_a_referrer_later_in_the_file_than_its_chunk_is_linked_at_the_end(
    tmp_path, chain, small_chunks, check_ledgers
):
    rows = [
        member_row("13800000001", **store(推荐人手机号="13800000009")),  # referrer: row 9
        member_row("13800000002", **store(推荐人手机号="13700000000")),  # never a member
        *[member_row(f"1380000000{i}", **store()) for i in range(3, 8)],
        member_row("13800000009", **store()),
    ]
    result = run(tmp_path, rows)
    assert (result.imported, result.rejected) == (7, 1)
    assert Member.objects.get(phone="13800000001").referrer.phone == "13800000009"
    assert [p.row_no for p in result.problems] == [3]
    assert "13700000000" in result.problems[0].reason
    check_ledgers()


def test_a_dry_run_finds_duplicates_across_chunks_and_writes_nothing(tmp_path, chain, small_chunks):
    rows = [member_row(f"1380000000{i}", **store()) for i in range(5)]
    rows.append(member_row("13800000000", **store()))  # row 7 repeats row 2, two chunks on
    result = run(tmp_path, rows, dry_run=True)
    assert (result.imported, result.duplicates) == (5, 1)
    assert "2" in result.problems[0].reason
    assert not Member.objects.exists()


def test_update_existing_is_set_based(tmp_path, chain):
    for i in range(40):
        open_member(phone=f"1380000{i:04d}", home_store=chain["SH001"], source=Source.ADMIN)

    def update(count, name):
        rows = [member_row(f"1380000{i:04d}", **store(姓名=name)) for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            result = run(tmp_path, rows, update_existing=True)
        assert result.updated == count
        return len(queries.captured_queries)

    few, many = update(4, "李四"), update(40, "王五")
    assert many == few  # no query per member, no member loaded
    assert Member.objects.filter(name="王五").count() == 40
    assert Member.objects.filter(name="王五").first().name_initials == "ww"
    # Blank cells change nothing; an unchanged row is not counted as updated.
    result = run(tmp_path, [member_row("13800000000", **store())], update_existing=True)
    assert result.updated == 0
    assert Member.objects.get(phone="13800000000").name == "王五"


def test_a_csv_of_many_rows_imports_in_chunks(tmp_path, chain, small_chunks, check_ledgers):
    path = tmp_path / "m.csv"
    lines = ["手机号,姓名,开卡门店,积分,积分有效期"]
    lines += [f"1390000{i:04d},张三,SH001,{i},2030-01-01" for i in range(20)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    progress = []
    result = import_members(path, progress=progress.append)
    assert result.imported == 20
    assert progress[-1] == 100 and len(progress) > 5 and progress == sorted(progress)
    lot = Member.objects.get(phone="13900000019").points_account.lots.get()
    assert timezone.localtime(lot.expires_at).date() == dt.date(2030, 1, 1)
    check_ledgers()


def run(tmp_path, rows, **kwargs):
    return import_members(write_workbook(tmp_path / "members.xlsx", rows), **kwargs)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_second_thread_writes_while_the_next_chunk_is_read(
    tmp_path, small_chunks, check_ledgers
):
    from tests import factories

    factories.make_chain()
    threads = set()

    def note_thread(**kwargs):
        import threading

        threads.add(threading.current_thread().name)

    rows = [member_row(f"1380000{i:04d}", **store(积分=i + 1)) for i in range(10)]
    rows.append(member_row("bad", **store()))
    rows.append(member_row("13800000000", **store()))  # duplicate of row 2, four chunks on
    hooks.members_imported.connect(note_thread)
    try:
        result = run(tmp_path, rows)
    finally:
        hooks.members_imported.disconnect(note_thread)
    assert threads == {"import-writer-0", "import-writer-1"}  # the two lanes took turns
    assert (result.imported, result.rejected, result.duplicates) == (10, 1, 1)
    assert [p.row_no for p in result.problems] == [12, 13]
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_a_failure_in_the_writer_thread_reaches_the_caller(tmp_path, small_chunks):
    from tests import factories

    factories.make_chain()

    def fail(**kwargs):
        raise RuntimeError("disk full")

    rows = [member_row(f"1380000{i:04d}", **store()) for i in range(10)]
    hooks.members_imported.connect(fail)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            run(tmp_path, rows)
    finally:
        hooks.members_imported.disconnect(fail)
    assert not Member.objects.exists()  # the failed chunk rolled back whole


@pytest.fixture
def slow_first_commit(transactional_db):
    """The COMMIT of the chunk holding phone 13800000001 takes half a second (a deferred
    trigger, like the foreign-key checks), so the next chunk surely runs before it commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON members_member "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.phone = '13800000001') "
            "EXECUTE FUNCTION test_slow_commit()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_slow_commit ON members_member")
        cursor.execute("DROP FUNCTION test_slow_commit()")


@pytest.mark.django_db(transaction=True)
def test_a_chunk_written_while_the_previous_one_commits_links_its_referrers_and_cards(
    tmp_path, small_chunks, slow_first_commit, check_ledgers
):
    from members.models import Card
    from members.services import generate_card_batch
    from tests import factories

    factories.make_chain()
    card, other = generate_card_batch(prefix="99", count=2, source=Source.ADMIN).cards.all()
    rows = [
        member_row("13800000001", **store()),
        member_row("13800000002", **store(会员卡号=card.card_no)),
        member_row("13800000003", **store()),
        # the next chunk: written while the first one commits (its members not yet visible)
        member_row("13800000004", **store(推荐人手机号="13800000001")),
        member_row("13800000005", **store(会员卡号=card.card_no)),  # the card again
        member_row("13800000006", **store(推荐人手机号="13800000004", 会员卡号=other.card_no)),
        member_row("13800000007", **store(推荐人手机号="13800000003")),
    ]
    result = run(tmp_path, rows)

    assert (result.imported, result.rejected) == (6, 1), result.problems
    assert [p.row_no for p in result.problems] == [6] and card.card_no in result.problems[0].reason
    referrers = dict(Member.objects.values_list("phone", "referrer__phone"))
    assert referrers["13800000004"] == "13800000001"  # in the chunk still committing
    assert referrers["13800000006"] == "13800000004"  # in its own chunk
    assert referrers["13800000007"] == "13800000003"
    assert Card.objects.get(pk=card.pk).member.phone == "13800000002"
    assert Card.objects.get(pk=other.pk).member.phone == "13800000006"
    numbers = list(Member.objects.order_by("member_no").values_list("phone", flat=True))
    assert numbers == sorted(numbers)  # member numbers in file order
    check_ledgers()


@pytest.mark.django_db(transaction=True)
def test_a_streamed_sheet_that_does_not_say_its_height_imports_as_a_job(
    tmp_path, small_chunks, monkeypatch
):
    """openpyxl's write-only mode (and other writers) leave out <dimension>: the height is
    unknown, progress waits for the end, and nothing divides by it."""
    from openpyxl import Workbook

    from members.importing import reader
    from tests import factories
    from tests.members.xlsx import TEMPLATE_HEADERS

    factories.make_chain()
    monkeypatch.setattr(reader, "CALAMINE_MAX_SHEET_BYTES", 0)  # stream even a small sheet
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(TEMPLATE_HEADERS))
    for i in range(7):
        sheet.append(member_row(f"1380000{i:04d}", **store()))
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    assert b"dimension" not in zipfile_sheet(path)
    job = ImportJob(original_name="m.xlsx")
    job.file.save("m.xlsx", ContentFile(path.read_bytes()))

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.imported, job.progress) == (ImportJob.Status.DONE, 7, 100), job.error


def zipfile_sheet(path):
    import zipfile

    with zipfile.ZipFile(path) as book:
        name = next(n for n in book.namelist() if n.startswith("xl/worksheets/"))
        return book.read(name)
