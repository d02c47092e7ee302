"""The example ops script runs on the sample data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import CONFIG, DATA, ROOT

SCRIPT = ROOT / "examples" / "python" / "cdr_report.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_the_report_on_the_sample() -> None:
    done = run("--timezone", "America/Anchorage", "--extensions", str(DATA / "extensions.yml"), str(DATA / "cdr-sample.log"))
    assert done.returncode == 0, done.stderr
    assert "lines read:      65\n" in done.stdout
    assert "calls to send:   47 (33 inbound, 14 outbound)\n" in done.stdout
    assert "extension 112 has no user email in the extension map" in done.stdout
    assert "unreadable:      0\n" in done.stdout


def local_starts() -> dict[int, tuple[str, str]]:
    """Line -> (weekday, "HH:MM") of each call's local start, from the hand-written table in
    examples/data/README.md."""
    starts = {}
    for row in (DATA / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (\d+) \| Call \d+ \| (\w{3}) \w{3} \d{2} (\d{2}:\d{2}) \|", row)
        if m:
            starts[int(m[1])] = (m[2], m[3])
    assert len(starts) == 65
    return starts


def expected_table(expected_rows: list[list[str]]) -> dict[str, Counter[str]]:
    """Extension -> "column business|after" -> count, from cdr-sample.expected.tsv (direction,
    owner, talk seconds per line: a missed call is an inbound one with no talk time) and the
    local start times (business hours: Monday to Friday, 09:00-17:00)."""
    starts = local_starts()
    table: dict[str, Counter[str]] = {}
    for line, direction, owner, _counterpart, talk_seconds in expected_rows:
        day, hhmm = starts[int(line)]
        when = "business" if day not in ("Sat", "Sun") and "09:00" <= hhmm < "17:00" else "after"
        counts = table.setdefault(owner or "-", Counter())
        columns = [direction.lower(), "total"]
        if direction == "INBOUND" and talk_seconds == "0":
            columns.append("missed")
        for column in columns:
            counts[f"{column} {when}"] += 1
    return table


def reported_table(stdout: str) -> tuple[dict[str, str], dict[str, Counter[str]]]:
    """The per-extension table of the report: extension -> owner, and extension -> "column
    business|after" -> count (cells read `business/after`)."""
    lines = stdout.split("calls per extension (business hours/after hours, America/Anchorage):\n", 1)[1].splitlines()
    header = lines[0].split()
    assert header[:2] == ["extension", "owner"]
    owners: dict[str, str] = {}
    table: dict[str, Counter[str]] = {}
    width = len(header) - 2
    for line in lines[1:]:
        fields = re.split(r" {2,}", line.strip())  # an owner has single spaces at most
        cells = fields[-width:]
        if len(fields) < width + 1 or not all(re.fullmatch(r"\d+/\d+", c) for c in cells):
            break
        owners[fields[0]] = " ".join(fields[1:-width])
        counts: Counter[str] = Counter()
        for column, cell in zip(header[2:], cells):
            business, after = cell.split("/")
            counts[f"{column} business"] = int(business)
            counts[f"{column} after"] = int(after)
        table[fields[0]] = +counts  # without the zeros
    return owners, table


def test_the_report_counts_calls_per_extension_by_direction_and_hours(expected_rows: list[list[str]]) -> None:
    done = run("--timezone", "America/Anchorage", "--extensions", str(DATA / "extensions.yml"), str(DATA / "cdr-sample.log"))
    assert done.returncode == 0, done.stderr
    owners, table = reported_table(done.stdout)
    expected = expected_table(expected_rows)
    total = table.pop("total")
    assert table == expected
    assert total == sum(expected.values(), Counter())
    assert total["total business"] + total["total after"] == 65
    # The owner column: the email from extensions.yml, none for the unmapped 112.
    assert owners["101"] == "anna.berg@example.com"
    assert owners["102"] == "bob.smith@example.com"
    assert owners["112"] == "(no email)"
    assert owners["-"] == "(no user extension)"
    # A cell spelled out: 101's inbound calls out of hours are lines 1 (08:02), 42 (21:05) and 60
    # (a Sunday).
    assert table["101"]["inbound after"] == 3
    assert table["-"]["missed business"] + table["-"]["missed after"] == sum(
        1 for _, direction, owner, _, talk in expected_rows if direction == "INBOUND" and not owner and talk == "0"
    )


def test_the_report_with_the_sample_config_writes_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    done = run("--config", str(CONFIG), "--jsonl", str(out), str(DATA / "cdr-sample.log"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines and lines[0]["line"] == 1
    assert lines[0]["call"]["pbxCallId"] == "3cx-40001-000001A19D361A38_5204"
    assert "calls per extension (business hours/after hours, America/Anchorage):\n" in done.stdout


def test_unusable_settings_exit_2() -> None:
    done = run("--timezone", "Mars/Olympus", str(DATA / "cdr-sample.log"))
    assert done.returncode == 2
    assert "not an IANA timezone name" in done.stderr
