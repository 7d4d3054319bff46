"""Only loyalty/ledger.py writes the points ledger tables or moves a balance."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITES = re.compile(
    r"(PointsEntry|PointsLot|LotConsumption|PointsAccount)\.objects[^\n]*"
    r"\.(create|update|bulk_create|bulk_update|delete|get_or_create|update_or_create)\("
    r"|INSERT INTO\s+\"?loyalty_(pointsentry|pointslot|lotconsumption)"
    r"|UPDATE\s+\"?loyalty_(pointsaccount|pointslot)"
)
ALLOWED = {"loyalty/ledger.py"}


def test_it_finds_no_other_writer_of_the_points_ledger():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "benchmarks/")) or "/migrations/" in relative:
            continue
        if relative in ALLOWED:
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WRITES.search(text):
                offenders.append(f"{relative}:{number}: {text.strip()}")
    assert offenders == []
