"""Project-wide guarantees: settings, the admin home, the demo data, the single ledger writers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY",
                                                               "DEBUG", "CELERY_BROKER_URL"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_it_passes_the_deploy_check_with_production_settings(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        env={"DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db", "SECRET_KEY": "x" * 64 + "Yz9!",
             "ALLOWED_HOSTS": "loyalty.example.com", "DEBUG": "off",
             "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = _manage("check", env={"DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db",
                                   "DEBUG": "off"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_defaults_to_an_embedded_postgresql_and_in_process_tasks(tmp_path):
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "from django.db import connection; c = connection.cursor(); "
            "c.execute('SELECT version()'); "
            "print(s.DATABASES['default']['HOST'], c.fetchone()[0].split()[0], "
            "s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG, s.LANGUAGE_CODE, s.TIME_ZONE)")
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY",
                                                               "DEBUG", "CELERY_BROKER_URL"}}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "config.settings",
           "EMBEDDED_PGDATA": str(tmp_path)}
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, env=env)
    finally:
        subprocess.run([sys.executable, "-m", "core.embedded_db", "stop", "demo"], cwd=ROOT,
                       env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(tmp_path / "demo"), "PostgreSQL", "True", "True", "zh-hans", "Asia/Shanghai"]


def test_it_refuses_a_database_other_than_postgresql():
    result = _manage("check", env={"DATABASE_URL": "sqlite:///db.sqlite3"})

    assert result.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr


def test_it_shows_the_admin_home_in_chinese_with_members_first(client, head_office):
    client.force_login(head_office)

    response = client.get(reverse("admin:index"))

    html = response.content.decode()
    assert "连锁会员与积分" in html
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels.index("members") < labels.index("loyalty") < labels.index("stores")


def test_it_serves_the_admin_in_english_when_asked(client, head_office):
    client.force_login(head_office)

    response = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")

    assert "Chain membership and loyalty" in response.content.decode()


@pytest.mark.django_db
def test_it_seeds_the_demo_chain_once_however_often_it_runs(capsys):
    from django.contrib.auth import get_user_model

    from stores.models import Staff, Store, Terminal

    call_command("seed_demo", members=5)
    counts = [Store.objects.count(), Staff.objects.count(), Terminal.objects.count(),
              get_user_model().objects.count()]
    call_command("seed_demo", members=5)

    assert [Store.objects.count(), Staff.objects.count(), Terminal.objects.count(),
            get_user_model().objects.count()] == counts
    assert set(Store.objects.values_list("code", flat=True)) >= {"SH001", "SH002", "BJ001",
                                                                 "GZ001"}
    assert Store.objects.get(code="GZ001").kind == Store.Kind.FRANCHISE
    assert "admin" in capsys.readouterr().out
    call_command("check_ledgers", verbosity=0)


def test_postgresql_gets_prepared_statements_unless_turned_off(tmp_path):
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    url = "postgres://u:p@127.0.0.1:5432/db"

    on = _manage("shell", "-c", show, env={"DATABASE_URL": url})
    off = _manage("shell", "-c", show, env={"DATABASE_URL": url, "DB_PREPARE_THRESHOLD": ""})

    assert "'server_side_binding': True, 'prepare_threshold': 5" in on.stdout, on.stderr
    assert "'prepare_threshold': None" in off.stdout, off.stderr
