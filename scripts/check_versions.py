#!/usr/bin/env python3
"""Checks that pbx has one version everywhere it is written down.

* the workspace (`[workspace.package] version`, which every crate inherits) and the `version`
  requirements on pbx-core / pbx-sources in `[workspace.dependencies]`;
* the Python package: `pbx-py/pyproject.toml` must take its version from Cargo
  (`dynamic = ["version"]`, no `version =` of its own), and maturin then uses pbx-py's;
* the Node package: `pbx-node/package.json` and its `package-lock.json`;
* `CHANGELOG.md` has a section for that version (or for `[Unreleased]` above it).

Exits 1 with every disagreement listed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    crates = {p["name"]: p["version"] for p in meta["packages"]}
    version = crates["pbx-core"]
    found: dict[str, str] = {f"crate {n}": v for n, v in crates.items()}

    cargo_toml = (ROOT / "Cargo.toml").read_text()
    for dep in ("pbx-core", "pbx-sources"):
        m = re.search(rf'^{dep}\s*=\s*{{[^}}]*version\s*=\s*"=?([^"]+)"', cargo_toml, re.M)
        found[f"Cargo.toml [workspace.dependencies] {dep}"] = m.group(1) if m else "(none)"

    pyproject = (ROOT / "pbx-py/pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    problems = []
    if re.search(r"^version\s*=", project, re.M):
        problems.append("pbx-py/pyproject.toml sets its own version; use dynamic = [\"version\"]")
    if not re.search(r'^dynamic\s*=\s*\[[^\]]*"version"', project, re.M):
        problems.append('pbx-py/pyproject.toml: [project] needs dynamic = ["version"] (from Cargo)')
    found["pbx-py (from Cargo)"] = crates["pbx-py"]

    package = json.loads((ROOT / "pbx-node/package.json").read_text())
    found["pbx-node/package.json"] = package["version"]
    lock = json.loads((ROOT / "pbx-node/package-lock.json").read_text())
    found["pbx-node/package-lock.json"] = lock["packages"][""]["version"]

    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    latest = next((r for r in releases if r != "Unreleased"), "(none)")
    found["CHANGELOG.md latest release"] = latest

    for where, v in found.items():
        if v != version:
            problems.append(f"{where} is {v}, not {version}")
    if problems:
        print("check_versions: the versions disagree:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"check_versions: {version} in all {len(found)} places ({', '.join(found)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
