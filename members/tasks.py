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
    """Every minute: queue again the import and bulk jobs that are stuck (killed while
    running, never queued because the broker was away, or lost on the way). Its name is the
    one the beat schedule has always used; it reaps every kind of job."""
    from members.queueing import reap_jobs

    return reap_jobs()


@shared_task(acks_late=True)
def run_member_bulk_job(job_id):
    """Run one bulk job over members (a filter of the member list), chunk by chunk."""
    from members.bulk import run_bulk_job

    run_bulk_job(job_id=job_id)
