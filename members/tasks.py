"""Celery tasks of the members area: thin wrappers that take ids."""

from celery import shared_task


@shared_task(acks_late=True)
def run_member_import(job_id):
    """Run one member import job (idempotent: a claimed or finished job is left alone)."""
    from members.importing.jobs import run_import_job

    run_import_job(job_id=job_id)
