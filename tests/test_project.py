"""Project-wide guarantees: settings, the admin home, the demo data, the single ledger writers."""

import os
import re
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
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "SECRET_KEY": "x" * 64 + "Yz9!",
             "ALLOWED_HOSTS": "loyalty.example.com", "DEBUG": "off",
             "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = _manage("check", env={"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
                                   "DEBUG": "off"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_defaults_to_sqlite_and_in_process_tasks_on_a_bare_machine():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG, "
            "s.LANGUAGE_CODE, s.TIME_ZONE)")
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY",
                                                               "DEBUG", "CELERY_BROKER_URL"}}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60,
                            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "True", "True", "zh-hans", "Asia/Shanghai"]


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


# One writer per ledger: only these modules may insert ledger rows or move balances.
LEDGER_WRITERS = {"loyalty/ledger.py", "members/ledger.py"}
LEDGER_MODELS = "PointsEntry|PointsLot|LotConsumption|WalletEntry|CountCardEntry"
WRITE_PATTERNS = [
    re.compile(rf"\b({LEDGER_MODELS})\.objects\.(create|bulk_create|get_or_create|"
               r"update_or_create|update|filter\([^)]*\)\.update)\b"),
    re.compile(rf"(?<!class )\b({LEDGER_MODELS})\((?!\s*\)|models\.Model)"),
    re.compile(r"\.update\(.*\b(balance|principal|bonus|remaining)\s*="),
    re.compile(r"(?i)insert\s+into\s+\w*(pointsentry|pointslot|lotconsumption|walletentry)"),
    re.compile(r"\.(balance|principal|bonus)\s*[+-]?=\s"),
]


def _source_files():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "benchmarks/")) or "/migrations/" in rel:
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_it_has_one_writer_per_ledger():
    offenders = [
        f"{rel}:{number}: {line.strip()}"
        for rel, text in _source_files()
        if rel not in LEDGER_WRITERS
        for number, line in enumerate(text.splitlines(), 1)
        if not line.lstrip().startswith("#") and any(p.search(line) for p in WRITE_PATTERNS)
    ]
    assert offenders == []


def test_the_writer_scan_catches_a_stray_writer():
    stray = [
        "    PointsEntry.objects.create(account=a, points=5)",
        "    wallet.principal += x",
        "    PointsAccount.objects.filter(pk=1).update(balance=F('balance') + 5)",
        "    LotConsumption(entry=e, lot=l, points=3)",
        "    cursor.execute('INSERT INTO loyalty_pointsentry (points) VALUES (1)')",
    ]
    innocent = ["class PointsEntry(models.Model):", "    .filter(~Q(balance=F('total')))"]
    assert all(any(p.search(line) for p in WRITE_PATTERNS) for line in stray)
    assert not any(p.search(line) for p in WRITE_PATTERNS for line in innocent)


def test_postgresql_gets_prepared_statements_unless_turned_off(tmp_path):
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    url = "postgres://u:p@127.0.0.1:5432/db"

    on = _manage("shell", "-c", show, env={"DATABASE_URL": url})
    off = _manage("shell", "-c", show, env={"DATABASE_URL": url, "DB_PREPARE_THRESHOLD": ""})

    assert "'server_side_binding': True, 'prepare_threshold': 5" in on.stdout, on.stderr
    assert "'prepare_threshold': None" in off.stdout, off.stderr
