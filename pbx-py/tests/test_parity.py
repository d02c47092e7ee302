"""The binding gives what the Rust side gives for the same input: pbx-convert's JSON lines.

pbx-py/tests/run.sh builds pbx-convert and sets PBX_CONVERT; without it (a bare `pytest`), the
test is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import pbx
from conftest import DATA


@pytest.mark.skipif("PBX_CONVERT" not in os.environ, reason="PBX_CONVERT (the pbx-convert binary) is not set")
def test_every_line_matches_pbx_convert(sample_text: str, extensions: pbx.ExtensionMap) -> None:
    done = subprocess.run(
        [
            os.environ["PBX_CONVERT"],
            "--timezone",
            "America/Anchorage",
            "--extensions",
            str(DATA / "extensions.yml"),
            str(DATA / "cdr-sample.log"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rust = [json.loads(line) for line in done.stdout.splitlines()]
    mapping = pbx.CallMapper(timezone="America/Anchorage", extensions=extensions)
    python: list[dict[str, object]] = []
    order: list[list[str]] = []
    for r in pbx.CdrParser().parse_lines(sample_text):
        if isinstance(r, pbx.ParseError):
            python.append({"line": r.line, "error": {"field": r.field, "value": r.value, "message": str(r)}})
            continue
        out = pbx.to_call_request(r, mapping)
        if isinstance(out, pbx.Skip):
            python.append({"line": r.line, "skipped": out.message})
        else:
            python.append({"line": r.line, "call": dict(out)})
            order.append(list(out))
    assert python == rust
    assert order == [list(x["call"]) for x in rust if "call" in x]  # the same key order too
    # The bulk form is pbx-convert's output itself (blank lines aside, which it passes over).
    bulk = json.loads(pbx.map_lines_json(pbx.CdrParser(), sample_text, mapping))
    assert bulk == [x for x in rust if x.get("skipped") != "blank line"]
