"""The fault suite: the real parts (a private PostgreSQL, redis-server, gunicorn with three
workers and DEBUG off, a Celery worker), three tills posting checkouts with Idempotency-Keys and
retrying as tills do, an operator starting jobs in the admin; then, one after another:

1. kill -9 a gunicorn worker;
2. restart PostgreSQL (a fast shutdown: every connection is cut) while a job runs;
3. stop Redis (cache, throttle and broker), start a job meanwhile, start Redis again;
4. kill -9 the Celery worker halfway through a job, and start another worker.

The moment of a fault, precisely: a request attempt is *at* a fault when its [start, end]
overlaps the fault's window: for a gunicorn worker, the instant it is killed (plus 0.5 s for
the request it had just accepted); for PostgreSQL, from the restart command until the server
accepts connections again. Only such an attempt may fail, and only with a refused or reset
connection or a 503 (the API's `service_unavailable`, Retry-After: nothing was written); a
500 is never allowed, and every attempt that starts after the window must succeed. Redis and
the Celery worker have no window at all: the tills and the admin answer normally throughout.

Then: every acknowledged sale exists exactly once and no other does (the retried ones were
replayed, not posted twice), the members' points are exactly what the sales and the jobs
gave, every job finished once (each member awarded once per job), check_ledgers passes, and
the whole run took at most three minutes of wall time.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from loyalty.models import PointsAccount, PointsAdjustment
from members.models import BulkJob
from sales.models import Sale
from tests.faults.parts import (
    ROOT,
    Beat,
    Operator,
    PrivatePostgres,
    Till,
    celery_worker,
    clock,
    gunicorn,
    wait_for,
    worker_pids,
)  # fmt: skip
from tests.members.xlsx import write_workbook
from tests.services import RedisServer, free_port, wait_for_port

pytestmark = [pytest.mark.faults]

BUDGET = 180  # seconds of wall time for the whole run, set-up included
MEMBERS = 120
AWARD = 5  # points per member per job


@pytest.fixture
def parts(db, tmp_path):
    """Everything started, seeded and torn down again; yields a namespace of the parts. The
    suite's own test database only lends its schema (a dump); nothing here writes to it."""
    started = clock()
    phases = {}
    suite_db = dict(connection.settings_dict)
    pg = PrivatePostgres()
    redis_server = RedisServer()
    processes = []
    try:
        pg.start()
        pg.copy_schema_from(suite_db)
        redis_server.start()
        phases["database and redis"] = clock() - started
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "DATABASE_"))}  # fmt: skip
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": pg.url(),
            "CELERY_BROKER_URL": redis_server.url(0), "CACHE_URL": redis_server.url(1),
            "DEBUG": "off", "SECRET_KEY": "fault-suite-" + "k" * 50, "HTTPS": "off",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "CONN_MAX_AGE": "600",
            "MEDIA_ROOT": str(tmp_path / "media"), "STATIC_FROM_FINDERS": "on",
            # Faults within seconds, not minutes: the same code, shorter clocks.
            "IMPORT_JOB_STALE_SECONDS": "5", "JOB_REQUEUE_PENDING_SECONDS": "6",
            "BULK_JOB_CHUNK": "12", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        })  # fmt: skip
        seeded = subprocess.run([sys.executable, "-m", "tests.faults.seed", str(MEMBERS)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        data = json.loads(seeded.stdout.strip().splitlines()[-1])
        phases["seeded"] = clock() - started
        port = free_port()
        web = gunicorn(env, port, tmp_path).start()
        processes.append(web)
        worker = celery_worker(env, tmp_path, 1).start()
        processes.append(worker)
        wait_for_port(port, seconds=60)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: len(worker_pids(web)) == 3, 60, "three gunicorn workers")
        phases["serving"] = clock() - started
        yield type("Parts", (), dict(
            pg=pg, redis=redis_server, web=web, worker=worker, env=env, base=base, data=data,
            processes=processes, started=started, tmp=tmp_path, phases=phases,
        ))  # fmt: skip
    finally:
        for process in reversed(processes):
            process.stop()
        redis_server.stop()
        pg.stop()


def award_file(tmp, n, phones):
    return write_workbook(tmp / f"award-{n}.xlsx", [[p, AWARD, f"故障演练{n}"] for p in phones],
                          headers=["手机号", "积分", "原因"])  # fmt: skip


def job_row(pg, job_id):
    status, processed, succeeded, failed, attempts = pg.query(
        f"SELECT status, processed, succeeded, failed, attempts FROM {BulkJob._meta.db_table} "
        "WHERE id = %s", [job_id])[0]  # fmt: skip
    return {"status": status, "processed": processed, "succeeded": succeeded, "failed": failed,
            "attempts": attempts}  # fmt: skip


def test_tills_and_jobs_come_through_every_fault_exactly_once(parts):
    p = parts
    award_url = reverse("admin:loyalty_pointsadjustment_award")
    stop, beat_stop, quiet = threading.Event(), threading.Event(), threading.Event()
    tills = [Till(n, p.base, key, p.data["phones"], stop, quiet)
             for n, key in enumerate(p.data["keys"])]  # fmt: skip
    beat = Beat(p.redis.url(0), beat_stop)
    operator = Operator(p.base, p.data["user"], p.data["password"])
    windows, jobs, notes = [], {}, {}

    def start_job(n):
        response = operator.upload(f"award {n}", award_url, award_file(p.tmp, n, p.data["phones"]))
        assert response is not None and response.status_code == 302, (n, response)
        jobs[n] = int(response.headers["Location"].rstrip("/").split("/")[-2])
        return jobs[n]

    def job_page(n):
        return operator.page(f"job {n} page", reverse("admin:members_bulkjob_change",
                                                      args=[jobs[n]]))  # fmt: skip

    operator.log_in()
    for till in tills:
        till.start()
    beat.start()
    time.sleep(2)

    # 1. kill -9 a gunicorn worker; the master starts another.
    start_job(1)
    victim = worker_pids(p.web)[0]
    moment = clock()
    os.kill(victim, 9)
    windows.append(("gunicorn worker killed", moment, moment + 0.5))
    wait_for(lambda: len(worker_pids(p.web)) == 3 and victim not in worker_pids(p.web), 30,
             "gunicorn to replace its worker")  # fmt: skip
    time.sleep(1)

    # 2. restart PostgreSQL while job 2 runs: once with the tills busy, once while the store
    # is quiet, so that the first requests after it land on workers that sat idle through it
    # with their kept connections (CONN_MAX_AGE) dead: they must reconnect, not fail.
    start_job(2)
    wait_for(lambda: job_row(p.pg, jobs[2])["processed"] > 0, 30, "job 2 to start")
    moment = clock()
    p.pg.restart()
    windows.append(("PostgreSQL restarted, tills busy", moment, clock()))
    time.sleep(1.5)
    quiet.set()
    wait_for(lambda: not any(till.busy.is_set() for till in tills), 30, "the tills to pause")
    time.sleep(0.5)
    moment = clock()
    p.pg.restart()
    windows.append(("PostgreSQL restarted, store quiet", moment, clock()))
    quiet.clear()
    assert job_page(2).status_code == 200  # the first page on idle workers after the restart

    # 3. Redis away: the tills keep checking out, the admin answers; a job started meanwhile
    # says 排队失败, and the reaper queues it once Redis is back.
    p.redis.stop()
    redis_down = clock()
    start_job(3)
    notes["job 3 while Redis was down"] = job_row(p.pg, jobs[3])["status"]
    notes["its page"] = "排队失败" in (job_page(3).text or "")
    time.sleep(max(0.0, 3 - (clock() - redis_down)))
    p.redis.start()

    # 4. kill -9 the Celery worker halfway through job 4; another worker takes over.
    start_job(4)
    wait_for(lambda: job_row(p.pg, jobs[4])["processed"] >= 36, 60, "job 4 to be halfway")
    p.worker.kill()
    killed_at = job_row(p.pg, jobs[4])
    p.processes.append(celery_worker(p.env, p.tmp, 2).start())
    p.phases["faults done"] = clock() - p.started

    wait_for(lambda: all(job_row(p.pg, j)["status"] == "done" for j in jobs.values()), 90,
             "every job to finish", every=0.5)  # fmt: skip
    time.sleep(1)
    stop.set()
    for till in tills:
        till.join(timeout=60)
    beat_stop.set()
    elapsed = clock() - p.started
    p.phases["jobs done"] = elapsed

    # --- what the tills saw -------------------------------------------------------------
    def at_fault(attempt):
        return any(attempt.start <= end and attempt.end >= start for _n, start, end in windows)

    attempts = [(sale, a) for till in tills for sale in till.sales for a in sale.attempts]
    failed = [(sale.receipt_no, a) for sale, a in attempts if a.outcome != 201]
    five_hundreds = [f for f in failed if f[1].outcome == 500]
    outside = [f for f in failed if not at_fault(f[1])]
    wrong_kind = [f for f in failed if f[1].outcome != 503 and not str(f[1].outcome).startswith(
        "conn:")]  # fmt: skip
    sales = [sale for till in tills for sale in till.sales]
    unanswered = [s.receipt_no for s in sales if s.answer is None]
    retried = [s for s in sales if len(s.attempts) > 1]
    operator_errors = [c for c in operator.calls if not (isinstance(c[3], int) and c[3] < 400)
                       and not any(c[0] <= end and c[1] >= start for _n, start, end in windows)]
    report = (f"{len(sales)} sales, {len(retried)} retried, {len(failed)} failed attempts, "
              f"windows {windows}, notes {notes}, job 4 when its worker was killed {killed_at}, "
              f"phases {({k: round(v) for k, v in p.phases.items()})}")  # fmt: skip
    print(report)
    assert not five_hundreds, five_hundreds[:5]
    assert not outside, (outside[:5], report)
    assert not wrong_kind, wrong_kind[:5]
    assert not unanswered, unanswered[:5]
    assert retried, "no till request met a fault: the suite proved nothing"
    assert not operator_errors, operator_errors
    assert notes == {"job 3 while Redis was down": "unqueued", "its page": True}
    assert 0 < killed_at["processed"] < MEMBERS, "the Celery worker died halfway, not after"

    # --- what the database holds ------------------------------------------------------------
    sale_table, receipt = Sale._meta.db_table, Sale._meta.get_field("receipt_no").column
    rows = dict(p.pg.query(f"SELECT {receipt}, count(*) FROM {sale_table} GROUP BY {receipt}"))
    answered = {s.receipt_no for s in sales}
    assert set(rows) == answered, "every acknowledged sale exists and no other"
    assert set(rows.values()) == {1}, "and exists once"
    earned = sum(s.answer["points_earned"] for s in sales)
    points = p.pg.query(f"SELECT sum(balance) FROM {PointsAccount._meta.db_table}")[0][0]
    assert points == earned + len(jobs) * MEMBERS * AWARD
    for n, job_id in jobs.items():
        row = job_row(p.pg, job_id)
        assert (row["status"], row["succeeded"], row["failed"]) == ("done", MEMBERS, 0), (n, row)
        awarded = p.pg.query(
            f"SELECT count(*), count(DISTINCT member_id) FROM {PointsAdjustment._meta.db_table} "
            "WHERE reason = %s", [f"故障演练{n}"])[0]  # fmt: skip
        assert awarded == (MEMBERS, MEMBERS), (n, awarded)
    checked = subprocess.run([sys.executable, "manage.py", "check_ledgers"], cwd=ROOT,
                             env=p.env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # --- and, DEBUG off as in production: a mistyped URL is the Chinese 404 ------------------
    missing = operator.page("mistyped", "/adimn/")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert "URLconf" not in missing.text
    assert clock() - p.started <= BUDGET, f"{clock() - p.started:.0f} s"
