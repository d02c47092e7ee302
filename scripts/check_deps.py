#!/usr/bin/env python3
"""Checks every dependency of the workspace against pbx's own licence and rust-version.

Runs `cargo metadata` (all features, all targets, dev- and build-dependencies included) and
fails when

* a dependency's SPDX licence expression cannot be satisfied with the licences in ALLOWED —
  those anyone may combine with and redistribute under pbx's `MIT OR Apache-2.0`;
* a dependency has no SPDX expression (only a `license-file`) and is not in REVIEWED;
* a dependency declares a `rust-version` newer than the workspace's (our MSRV would be a lie).

Why a script and not cargo-deny: `cargo deny check licenses` would do the licence half, but it
is one more binary to install (≈ 2 min to build here) and the rest of cargo-deny wants its
advisory database from the network; `cargo metadata` already has every field we need and
works offline once the dependencies are fetched (the build before this step fetches them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

# Permissive licences: no copyleft, no field-of-use limits. Each is OSI- or FSF-approved and
# accepted by the Rust ecosystem's common cargo-deny configurations.
ALLOWED = {
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "CC0-1.0",
    "Unlicense",
    "BSL-1.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CDLA-Permissive-2.0",  # webpki-roots' data (Mozilla's CA list)
}

# Crates that carry only a licence file, checked by hand: name -> what the file says.
REVIEWED: dict[str, str] = {}


def tokens(expr: str) -> list[str]:
    expr = expr.replace("/", " OR ")  # the pre-SPDX "MIT/Apache-2.0" form
    return re.findall(r"\(|\)|[^\s()]+", expr)


def satisfiable(expr: str) -> bool:
    """Whether the SPDX expression can be met using only ALLOWED licences."""
    toks = tokens(expr)
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def atom() -> bool:
        t = take()
        if t == "(":
            v = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return v
        name = t.rstrip("+")
        if peek() == "WITH":
            take()
            name = f"{name} WITH {take()}"
        return name in ALLOWED

    def conjunction() -> bool:
        v = atom()
        while peek() == "AND":
            take()
            v = atom() and v
        return v

    def disjunction() -> bool:
        v = conjunction()
        while peek() == "OR":
            take()
            v = conjunction() or v
        return v

    result = disjunction()
    if pos != len(toks):
        raise ValueError(f"cannot read licence expression {expr!r}")
    return result


def version_tuple(v: str) -> tuple[int, ...]:
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main() -> int:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    meta = json.loads(out)

    members = set(meta["workspace_members"])
    msrvs = {
        p["rust_version"] for p in meta["packages"] if p["id"] in members and p["rust_version"]
    }
    ours = min(msrvs, key=version_tuple) if msrvs else None
    # Only what the resolver actually uses (cargo metadata lists every locked package).
    used = {n["id"] for n in meta["resolve"]["nodes"]}

    problems = []
    seen = 0
    for p in meta["packages"]:
        if p["id"] in members or p["id"] not in used:
            continue
        seen += 1
        name = f'{p["name"]} {p["version"]}'
        lic = p.get("license")
        if lic:
            try:
                ok = satisfiable(lic)
            except ValueError as e:
                problems.append(f"{name}: {e}")
                continue
            if not ok:
                problems.append(f"{name}: licence {lic!r} is not in the allow-list")
        elif p["name"] not in REVIEWED:
            problems.append(f"{name}: no SPDX licence (license-file {p.get('license_file')!r}); review it")
        rv = p.get("rust_version")
        if ours and rv and version_tuple(rv) > version_tuple(ours):
            problems.append(f"{name}: needs Rust {rv}, newer than our rust-version {ours}")

    if problems:
        print(f"check_deps: {len(problems)} problem(s) in {seen} dependencies:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        f"check_deps: {seen} dependencies, every licence compatible with MIT OR Apache-2.0, "
        f"none needs Rust newer than {ours}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
