"""Dependencies run one way: stores <- members <- loyalty <- wallet <- countcards <- sales <-
campaigns (core below all, config and seeds above). Imports are checked by import-linter (the
contract in pyproject.toml, run by bin/test); model references, string references included, here."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from sales.models import Sale

ROOT = Path(__file__).resolve().parents[2]
LAYERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
][0]["layers"]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd):
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)},
    )  # fmt: skip


def _copy_project(target):
    for package in LAYERS:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def test_the_project_keeps_the_dependency_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path):
    _copy_project(tmp_path)
    clean = _lint(tmp_path)
    module = tmp_path / "members" / "services" / "members.py"
    module.write_text(module.read_text() + "\n\nfrom sales.models import Sale  # noqa\n")

    broken = _lint(tmp_path)

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout and "members.services.members -> sales.models" in (
        broken.stdout
    )


def _layer(app_label):
    return LAYERS.index(app_label) if app_label in LAYERS else None


def upward_references(models):
    found = []
    for model in models:
        own = _layer(model._meta.app_label)
        if own is None:
            continue
        for field in model._meta.get_fields(include_hidden=False):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target = field.related_model._meta
            if _layer(target.app_label) is not None and _layer(target.app_label) < own:
                found.append(f"{model._meta.label}.{field.name} -> {target.label}")
    return found


def test_every_model_reference_points_down_or_within_its_own_app():
    assert upward_references(apps.get_models()) == []


@isolate_apps("loyalty")
def test_the_reference_check_sees_an_upward_reference():
    class StrayEntry(models.Model):  # noqa: DJ008  (an entry naming its sale: loyalty -> sales)
        sale = models.ForeignKey(Sale, on_delete=models.PROTECT)

        class Meta:
            app_label = "loyalty"

    assert upward_references([StrayEntry]) == ["loyalty.StrayEntry.sale -> sales.Sale"]
