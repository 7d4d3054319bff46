"""The import's progress: a JSON status of the job for the page whose bar polls it; a big
upload lands on that page; a store's staff see only their own jobs."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from members.models import ImportJob, Member
from tests.members.xlsx import member_row, write_workbook

pytestmark = pytest.mark.django_db


def _job(user, **fields):
    return ImportJob.objects.create(
        file=ContentFile(b"x", name="m.xlsx"), original_name="m.xlsx", created_by=user, **fields
    )


def test_the_status_says_how_far_the_job_is(client, head_office, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    job = _job(head_office, status=ImportJob.Status.RUNNING, progress=40, rows_read=400)
    client.force_login(head_office)

    data = client.get(reverse("admin:members_importjob_status", args=[job.pk])).json()

    assert data["progress"] == 40 and data["rows_read"] == 400
    assert data["status"] == "running" and data["finished"] is False
    assert data["confirm_url"] is None


def test_a_finished_check_offers_the_confirm_button(client, head_office, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    job = _job(head_office, status=ImportJob.Status.PREVIEWED, progress=100, dry_run=True)
    client.force_login(head_office)

    data = client.get(reverse("admin:members_importjob_status", args=[job.pk])).json()

    assert data["finished"] is True
    assert data["confirm_url"] == reverse("admin:members_importjob_confirm", args=[job.pk])


def test_a_store_manager_sees_only_their_own_jobs(
    client, head_office, sh001_manager, tmp_path, settings
):
    settings.MEDIA_ROOT = str(tmp_path)
    theirs = _job(head_office)
    mine = _job(sh001_manager)
    client.force_login(sh001_manager)

    assert (
        client.get(reverse("admin:members_importjob_status", args=[theirs.pk])).status_code == 404
    )
    assert (
        client.get(reverse("admin:members_importjob_progress", args=[theirs.pk])).status_code == 404
    )
    assert client.get(reverse("admin:members_importjob_status", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:members_importjob_status", args=[999999])).status_code == 404


def test_a_big_upload_lands_on_the_progress_page(
    client, head_office, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEMBER_IMPORT_BACKGROUND_BYTES = 0
    path = write_workbook(tmp_path / "m.xlsx", [member_row("13800000009", 开卡门店="SH001")])
    client.force_login(head_office)

    with path.open("rb") as upload, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:members_importjob_add"), {"file": upload})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_importjob_progress", args=[job.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'role="progressbar"' in page.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED  # the background check ran (eagerly here)
    assert Member.objects.count() == 0
