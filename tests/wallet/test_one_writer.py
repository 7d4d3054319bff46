import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITES = re.compile(
    r"(WalletEntry|CountCardEntry)\.objects\.(create|bulk_create|update|get_or_create)"
    r"|\.update\([^)]*\b(principal|bonus|visits_left)\s*="
)


def test_it_writes_wallets_and_count_cards_only_in_the_ledger_module():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests"} or "migrations" in rel.parts:
            continue
        if rel == Path("members/ledger.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WRITES.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []
