"""The vendored ECharts is the file its VERSION.md records, and pages format money the way a
finance team reads it."""

import hashlib
import re
from decimal import Decimal
from pathlib import Path

from core.templatetags.formatting import money, number, percent

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor" / "echarts"


def test_the_vendored_echarts_matches_its_recorded_checksums():
    (folder,) = [p for p in VENDOR.iterdir() if p.is_dir()]
    recorded = dict(
        re.findall(
            r"^\| (\S+) \| .* \| ([0-9a-f]{64}) \|$", (folder / "VERSION.md").read_text(), re.M
        )
    )

    assert set(recorded) == {"echarts.common.min.js", "echarts.min.js", "langZH.js"}
    for name, checksum in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == checksum, name
    assert (
        (folder / "LICENSE")
        .read_text()
        .startswith("\n                                 Apache License")
    )


def test_money_has_two_decimals_and_thousands_separators():
    assert money(Decimal("1234567.5")) == "1,234,567.50"
    assert money(Decimal("-12.345")) == "-12.35"
    assert money(0) == "0.00"
    assert money(None) == "" and money("not a number") == ""
    assert number(1234567) == "1,234,567"
    assert percent(Decimal("0.1234")) == "12.3%"
