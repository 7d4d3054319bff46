"""Celery tasks of the members area: thin wrappers that take ids."""

from celery import shared_task


@shared_task(acks_late=True)
def run_member_import(job_id):
    """Run one member import job (idempotent: a claimed or finished job is left alone; a job
    whose worker died resumes after its last committed chunk)."""
    from members.importing.jobs import run_import_job

    run_import_job(job_id=job_id)


@shared_task
def reap_import_jobs():
    """Every few minutes: resume the import and bulk jobs whose worker died."""
    from members.bulk import reap_bulk_jobs
    from members.importing.jobs import reap_import_jobs as reap

    return {"imports": reap(), "bulk": reap_bulk_jobs()}


@shared_task(acks_late=True)
def run_member_bulk_job(job_id):
    """Run one bulk job over members (a filter of the member list), chunk by chunk."""
    from members.bulk import run_bulk_job

    run_bulk_job(job_id=job_id)
