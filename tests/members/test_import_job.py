import pytest
from django.core.files.base import ContentFile

from members.models import ImportJob, Member
from members.tasks import run_member_import
from tests.members.xlsx import member_row, write_workbook

pytestmark = pytest.mark.django_db


def test_it_runs_an_import_job_once_however_often_the_task_is_delivered(
    tmp_path, settings, chain, head_office, check_ledgers
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    path = write_workbook(
        tmp_path / "m.xlsx",
        [member_row("13800000001", 开卡门店="SH001", 积分=5), member_row("x", 开卡门店="SH001")],
    )
    job = ImportJob(original_name="m.xlsx", created_by=head_office)
    job.file.save("m.xlsx", ContentFile(path.read_bytes()))

    run_member_import.apply(args=[job.pk])
    run_member_import.apply(args=[job.pk])  # a redelivered task finds the job finished

    job.refresh_from_db()
    assert (job.status, job.imported, job.rejected, job.progress) == ("done", 1, 1, 100)
    assert job.report.name.endswith(".xlsx")
    assert Member.objects.count() == 1
    check_ledgers()


def test_a_job_that_cannot_read_its_file_fails_with_a_message(tmp_path, settings, head_office):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    job = ImportJob(original_name="m.csv", created_by=head_office)
    job.file.save("m.csv", ContentFile("姓名\n张三\n".encode()))
    run_member_import.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.message
