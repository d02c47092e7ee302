#!/usr/bin/env python3
"""Python/Node parity: the public names of the two packages, compared.

Lists what the installed Python package `pbx` exports (functions, classes and their public
members) and what the built Node package `pbx-node` exports (functions, classes with their
static and prototype members, enum objects), folds each name to one spelling (`from_config`
and `fromConfig` are both `fromconfig`) and fails when one side has a name the other lacks
and the exceptions file does not explain it. An exception that no longer applies fails too, so
the list stays small and true.

Usage (scripts/test.sh runs it after both bindings' steps):
    PYTHON=target/pyenv/bin/python scripts/parity.py
    python scripts/parity.py --list      # print both sides' folded names
Exit status: 0 parity (modulo the exceptions), 1 a difference or a stale exception, 2 usage.

The exceptions file (scripts/parity-exceptions.txt) has one line per known difference:
    <side that has it: py|node>  <Name or Class.member>  <why, in words>
`Class.*` stands for every member of Class that the other side lacks. Blank lines and lines
starting with '#' are comments.

Four differences are the languages' idioms and are not listed there:
- Node's `xAsync` twin of a function or method both packages have (a Promise on the libuv pool;
  Python callers use threads) — the `Async` suffix is Node's convention;
- a Python class whose instances are plain results (`NormalizedNumber`, `Skip`, …) is a plain
  object in Node, described by the `interface` of the same name in the generated index.d.ts;
  those interfaces' fields are read as the Node side's members;
- members a Python class inherits from a built-in type (`ConfigIssue` is a named tuple, so it
  has `count` and `index`; the exceptions have `args`, `with_traceback`, `add_note`);
- Python's `len(x)` (`__len__`) is Node's `x.size` (as for `Map` and `Set`).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCEPTIONS = ROOT / "scripts" / "parity-exceptions.txt"
NODE_PACKAGE = ROOT / "pbx-node"

# Names each language has by convention, not as a capability of pbx.
PY_CONVENTIONS = {"add_note", "args", "with_traceback"}  # members every Python exception has
NODE_CONVENTIONS = {"arguments", "caller", "length", "name", "prototype", "constructor"}


def fold(name: str) -> str:
    """One spelling for both languages: lower case without underscores."""
    return name.replace("_", "").lower()


def python_names() -> dict[str, str]:
    """Folded name -> the name as Python spells it (`Class.member` for members)."""
    import pbx  # the installed package

    out: dict[str, str] = {}
    if hasattr(pbx, "__version__"):
        out["version"] = "__version__"
    for name in dir(pbx):
        if name.startswith("_"):
            continue
        obj = getattr(pbx, name)
        if inspect.ismodule(obj):
            continue
        out[fold(name)] = name
        if inspect.isclass(obj):
            builtin = [b for b in obj.__mro__[1:] if b.__module__ == "builtins"]
            for member in dir(obj):
                if member.startswith("_") or member in PY_CONVENTIONS:
                    continue
                if any(hasattr(b, member) for b in builtin):
                    continue  # the built-in base's, e.g. tuple.count of a named tuple
                out[f"{fold(name)}.{fold(member)}"] = f"{name}.{member}"
            if "__len__" in vars(obj):  # Python's spelling of Node's `size`
                out[f"{fold(name)}.size"] = f"{name}.__len__"
    return out


NODE_LISTING = r"""
const p = require(process.argv[1]);
const skip = new Set(JSON.parse(process.argv[2]));
const out = [];
for (const name of Object.keys(p)) {
  if (name.startsWith('_')) continue;
  out.push(name);
  const v = p[name];
  if (typeof v === 'function' && v.prototype) {
    for (const m of Object.getOwnPropertyNames(v)) if (!skip.has(m)) out.push(`${name}.${m}`);
    for (const m of Object.getOwnPropertyNames(v.prototype)) if (!skip.has(m)) out.push(`${name}.${m}`);
  }
}
console.log(JSON.stringify(out));
"""


def node_interfaces() -> dict[str, list[str]]:
    """`export interface Name { field… }` of the generated index.d.ts: name -> its fields."""
    text = (NODE_PACKAGE / "index.d.ts").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"^export interface (\w+)[^{]*\{(.*?)^\}", text, re.M | re.S):
        out[m.group(1)] = re.findall(r"^  (?:readonly )?(\w+)\??:", m.group(2), re.M)
    return out


PY_STUBS = ROOT / "pbx-py" / "pbx.pyi"


def py_shapes() -> dict[str, dict[str, str]]:
    """The dict shapes the stubs declare (`class X(TypedDict)`, `X = TypedDict("X", {…})`, and
    TypedDicts extending one): name -> field -> type as written."""
    text = PY_STUBS.read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    for m in re.finditer(r"^class (\w+)\((\w+)\):\n(.*?)(?=^\S)", text, re.M | re.S):
        name, base, body = m.groups()
        if base != "TypedDict" and base not in out:
            continue
        fields = dict(out.get(base, {}))
        fields.update(re.findall(r"^    (\w+): (.+)$", body, re.M))
        out[name] = fields
    for m in re.finditer(r'^(\w+) = TypedDict\(\s*"\w+",\s*\{(.*?)\}\s*,?\s*\)', text, re.M | re.S):
        out[m.group(1)] = dict(re.findall(r'^\s*"(\w+)": (.+?),?$', m.group(2), re.M))
    return out


def node_shapes() -> dict[str, dict[str, str]]:
    """The interfaces of index.d.ts, with the fields of those they extend: name -> field ->
    type as written (`?` as `| undefined`)."""
    text = (NODE_PACKAGE / "index.d.ts").read_text(encoding="utf-8")
    raw: dict[str, tuple[list[str], dict[str, str]]] = {}
    for m in re.finditer(r"^export interface (\w+)(?: extends ([\w, ]+))? \{(.*?)^\}", text, re.M | re.S):
        bases = [b.strip() for b in (m.group(2) or "").split(",") if b.strip()]
        fields = {f: t + (" | undefined" if q else "")
                  for f, q, t in re.findall(r"^  (?:readonly )?(\w+)(\??): (.+)$", m.group(3), re.M)}
        raw[m.group(1)] = (bases, fields)

    def resolve(name: str) -> dict[str, str]:
        bases, fields = raw[name]
        out: dict[str, str] = {}
        for b in bases:
            if b in raw:
                out.update(resolve(b))
        out.update(fields)
        return out

    return {name: resolve(name) for name in raw}


def kind(t: str) -> tuple[str, bool]:
    """A declared type, coarsely: (`number`, `string`, `boolean`, `map`, `array` or `other`,
    whether it may be absent) — the same for `int | None` and `number | null`."""
    if t.strip().startswith("{"):
        return ("other", False)  # an inline object type: its own fields are not compared
    parts = [p.strip() for p in re.split(r"\|(?![^<\[{(]*[>\]})])", t)]
    absent = any(p in ("None", "null", "undefined") for p in parts)
    parts = [p for p in parts if p not in ("None", "null", "undefined")]
    kinds = set()
    for p in parts:
        if p in ("int", "float", "number"):
            kinds.add("number")
        elif p in ("str", "string") or re.fullmatch(r"'[^']*'|\"[^\"]*\"|Literal\[.*\]", p):
            kinds.add("string")
        elif p in ("bool", "boolean"):
            kinds.add("boolean")
        elif re.match(r"(dict|Mapping|Record)\b", p):
            kinds.add("map")
        elif re.match(r"(list|Sequence|Array)\b", p) or p.endswith("[]"):
            kinds.add("array")
        else:
            kinds.add("other")
    return ("/".join(sorted(kinds)) or "other", absent)


def shape_problems() -> tuple[list[str], int]:
    """Every view both packages declare under one name: the same fields (folded), each of the
    same coarse type and absence."""
    py, node = py_shapes(), node_shapes()
    node_by_fold = {fold(n): n for n in node}
    problems: list[str] = []
    compared = 0
    for name, fields in sorted(py.items()):
        other = node_by_fold.get(fold(name))
        if other is None:
            continue
        compared += 1
        nfields = {fold(f): (f, t) for f, t in node[other].items()}
        pfields = {fold(f): (f, t) for f, t in fields.items()}
        for key in sorted(set(pfields) - set(nfields)):
            problems.append(f"shape {name}: field {pfields[key][0]} only in Python")
        for key in sorted(set(nfields) - set(pfields)):
            problems.append(f"shape {name}: field {nfields[key][0]} only in Node")
        for key in sorted(set(pfields) & set(nfields)):
            (pf, pt), (nf, nt) = pfields[key], nfields[key]
            pk, nk = kind(pt), kind(nt)
            if "other" in (pk[0], nk[0]):
                continue
            if pk != nk:
                problems.append(f"shape {name}.{pf}: Python {pt!r}, Node {nt!r}")
    return problems, compared


def node_names(python_classes: set[str]) -> dict[str, str]:
    done = subprocess.run(
        ["node", "-e", NODE_LISTING, str(NODE_PACKAGE / "index.js"), json.dumps(sorted(NODE_CONVENTIONS))],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"parity: listing the Node package failed (is pbx-node built?):\n{done.stderr}")
    out: dict[str, str] = {}
    for name in json.loads(done.stdout):
        cls, _, member = name.partition(".")
        out[fold(cls) + (f".{fold(member)}" if member else "")] = name
    for name, fields in node_interfaces().items():
        if fold(name) in python_classes and fold(name) not in out:
            out[fold(name)] = f"interface {name}"
            for f in fields:
                out[f"{fold(name)}.{fold(f)}"] = f"interface {name}.{f}"
    return out


def async_twin(key: str, py: dict[str, str], node: dict[str, str]) -> bool:
    """A Node `xAsync` whose `x` both packages have."""
    return key.endswith("async") and key[: -len("async")] in py and key[: -len("async")] in node


def exceptions() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for number, raw in enumerate(EXCEPTIONS.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"\s+", line, maxsplit=2)
        if len(parts) < 3 or parts[0] not in ("py", "node"):
            sys.exit(f"parity: {EXCEPTIONS.name} line {number}: expected '<py|node> <name> <why>', got {raw!r}")
        side, name, why = parts
        key = (side, ".".join(fold(p) for p in name.split(".")))
        if key in out:
            sys.exit(f"parity: {EXCEPTIONS.name} line {number}: {side} {name} is listed twice")
        out[key] = why
    return out


def main() -> int:
    py = python_names()
    node = node_names({k for k in py if "." not in k})
    if "--list" in sys.argv[1:]:
        for key in sorted(set(py) | set(node)):
            print(f"{py.get(key, '-'):40} {node.get(key, '-')}")
        return 0
    known = exceptions()
    problems: list[str] = []
    only = {"py": set(py) - set(node), "node": set(node) - set(py)}
    names = {"py": py, "node": node}
    other = {"py": "Node", "node": "Python"}
    only["node"] = {k for k in only["node"] if not async_twin(k, py, node)}
    used: set[tuple[str, str]] = set()
    for side in ("py", "node"):
        for key in sorted(only[side]):
            cls = key.split(".")[0]
            # A member of a class the other side lacks altogether is covered by the class's line;
            # `Class.*` covers every member of Class the other side lacks.
            if "." in key and (side, cls) in known and cls in only[side]:
                continue
            if "." in key and (side, f"{cls}.*") in known:
                used.add((side, f"{cls}.*"))
                continue
            if (side, key) in known:
                used.add((side, key))
            else:
                problems.append(f"only in {'Python' if side == 'py' else 'Node'}: {names[side][key]} "
                                f"(add it to {other[side]}, or a line to {EXCEPTIONS.relative_to(ROOT)})")
    for (side, key), why in sorted(known.items()):
        if (side, key) not in used:
            problems.append(f"stale exception: {side} {key} ({why}) — both packages have it now, or neither")
    shapes, compared = shape_problems()
    problems += shapes
    shared = len(set(py) & set(node))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"parity: {len(problems)} problem(s); {shared} names shared", file=sys.stderr)
        return 1
    print(f"parity: {shared} names shared; {len(known)} documented differences; "
          f"{compared} views of the same name with the same fields and types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
