from .reap_jobs import Command as ReapJobs


class Command(ReapJobs):
    """The name operators were told to run (members/importing/jobs.py): `reap_jobs` under its
    old name. It reaps every kind of job, imports and bulk jobs alike."""
