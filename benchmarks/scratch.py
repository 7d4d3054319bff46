"""A scratch PostgreSQL database for a benchmark run, so every run starts from the same state."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(url, suffix="_bench"):
    """Drop and create `<db><suffix>` next to the database in `url`, migrate it, and return
    an environment whose DATABASE_URL points at it."""
    import psycopg

    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database: this measures the production setup.")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + suffix
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    bench = urlunsplit(parts._replace(path=f"/{name}"))
    env = {**os.environ, "DATABASE_URL": bench, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    return env
