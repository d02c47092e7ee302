#!/usr/bin/env python3
"""Checks the configuration reference (docs/configuration.md) against the config structs, both ways.

The keys come from pbx-core/src/config/raw.rs — the serde structs the YAML is read into (unknown
keys are errors there, so these are exactly the keys a user may write). Each field becomes a
dotted path: a nested struct adds `.field`, a list of structs `[].field`, a map of structs
`.<name>` (documented once, not expanded). The service's own sections (`http`, `logging`, `ha`,
`quarantine`) come from pbx-sources/src/runtime/service_config.rs: each
`c.section("name", …, &["key", …])` call lists the keys that section accepts. The "## Configuration reference" section of
docs/configuration.md must have a table row for every path (the first cell's `backticked` keys)
and no row for a key that does not exist; the README links there and holds no reference of its
own (one reference, so two cannot disagree). Run by scripts/packaging.sh (config-docs).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "pbx-core/src/config/raw.rs"
SERVICE = ROOT / "pbx-sources/src/runtime/service_config.rs"
README = ROOT / "README.md"
REFERENCE = ROOT / "docs/configuration.md"
SECTION = "## Configuration reference"

# What a map of structs is keyed by, for its placeholder (`groups.hours.<group>`).
MAP_KEYS = {"groups.hours": "<group>"}


def structs(source: str) -> dict[str, list[tuple[str, str]]]:
    """struct name → [(YAML key, type)] for every `struct Name { field: Type, … }`, honouring
    `#[serde(rename = "…")]` on a field."""
    out = {}
    for m in re.finditer(r"struct\s+(\w+)\s*\{(.*?)\n\}", source, re.S):
        fields, rename = [], None
        for line in m.group(2).splitlines():
            r = re.search(r'#\[serde\([^\]]*\brename\s*=\s*"([^"]+)"', line)
            if r:
                rename = r.group(1)
            f = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:\s*(.+?),\s*(//.*)?$", line)
            if f:
                fields.append((rename or f.group(1), f.group(2).strip()))
                rename = None
        out[m.group(1)] = fields
    return out


def paths(all_structs: dict[str, list[tuple[str, str]]], name: str, prefix: str) -> list[str]:
    keys = []
    for field, ty in all_structs[name]:
        path = f"{prefix}{field}"
        inner = re.fullmatch(r"(Option|Vec)<(\w+)>", ty)
        mapped = re.fullmatch(r"BTreeMap<String,\s*(\w+)>", ty)
        if ty in all_structs:
            keys += paths(all_structs, ty, f"{path}.")
        elif inner and inner.group(2) in all_structs:
            sep = "[]." if inner.group(1) == "Vec" else "."
            keys += paths(all_structs, inner.group(2), f"{path}{sep}")
        elif mapped and mapped.group(1) in all_structs:
            keys.append(f"{path}.{MAP_KEYS.get(path, '<name>')}")
        else:
            keys.append(path)
    return keys


def service_paths(source: str) -> list[str]:
    """`section.key` for every key of every `c.section("section", …, &["key", …])` call."""
    keys = []
    for m in re.finditer(r'\.section\(\s*"(\w+)",[^;]*?&\[([^\]]*)\]', source, re.S):
        keys += [f"{m.group(1)}.{k}" for k in re.findall(r'"(\w+)"', m.group(2))]
    return keys


def documented(text: str) -> set[str]:
    if SECTION not in text:
        sys.exit(f"check_config_reference: docs/configuration.md has no '{SECTION}' section")
    body = text.split(SECTION, 1)[1]
    body = re.split(r"^## ", body, maxsplit=1, flags=re.M)[0]
    keys = set()
    for row in body.splitlines():
        if not row.startswith("|") or set(row) <= set("|-: "):
            continue
        first = row.split("|")[1]
        keys.update(re.findall(r"`([^`]+)`", first))
    return keys


def main() -> int:
    all_structs = structs(RAW.read_text())
    if "RawConfig" not in all_structs:
        sys.exit("check_config_reference: no RawConfig in pbx-core/src/config/raw.rs")
    want = paths(all_structs, "RawConfig", "")
    service = service_paths(SERVICE.read_text())
    if len(service) < 4:
        sys.exit("check_config_reference: no c.section(...) calls in " + str(SERVICE))
    want += service
    if SECTION in README.read_text():
        sys.exit(
            f"check_config_reference: README.md has a '{SECTION}' section; the reference lives in "
            "docs/configuration.md (move the rows there)"
        )
    have = documented(REFERENCE.read_text())
    missing = [k for k in want if k not in have]
    extra = sorted(have - set(want))
    if missing or extra:
        for k in missing:
            print(f"  docs/configuration.md lacks `{k}` (a key of the config structs)", file=sys.stderr)
        for k in extra:
            print(f"  docs/configuration.md documents `{k}`, which the config structs do not have", file=sys.stderr)
        print(
            f"check_config_reference: the '{SECTION}' of docs/configuration.md disagrees with "
            f"pbx-core/src/config/raw.rs and {SERVICE.relative_to(ROOT)} "
            f"({len(missing)} missing, {len(extra)} unknown)",
            file=sys.stderr,
        )
        return 1
    print(f"check_config_reference: all {len(want)} configuration keys are in docs/configuration.md, and no others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
