"""The example ops script runs on the sample data."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_the_report_with_the_sample_config_writes_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    done = run("--config", str(CONFIG), "--jsonl", str(out), str(DATA / "cdr-sample.log"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines and lines[0]["line"] == 1
    assert lines[0]["call"]["pbxCallId"] == "3cx-40001-000001A19D361A38_5204"


def test_unusable_settings_exit_2() -> None:
    done = run("--timezone", "Mars/Olympus", str(DATA / "cdr-sample.log"))
    assert done.returncode == 2
    assert "not an IANA timezone name" in done.stderr
