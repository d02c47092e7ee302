#!/usr/bin/env python3
"""An ops script on the `pbx` Python package: a daily report over a 3CX CDR file.

It parses every line, maps each call to the call-logger API's request (or the reason it is
skipped), lists the lines that cannot be read, counts the calls that arrived outside business
hours and the most frequent outside numbers (normalized to E.164 in one batch), prints a table
of calls per extension by direction, split business hours / after hours, and can write the call
requests as JSON lines for a later upload.

    python examples/python/cdr_report.py --timezone America/Anchorage \\
        --extensions examples/data/extensions.yml examples/data/cdr-sample.log

    python examples/python/cdr_report.py --config examples/config/sideloader.yml \\
        --jsonl /tmp/calls.jsonl examples/data/cdr-sample.log

Every decision is the package's: the direction and owning extension come from `pbx.classify`,
"answered" from `Cdr.is_answered`, business hours from `BusinessHours.is_open` at the call's
start. Exit codes: 0 (even with bad lines: they are reported), 2 for unusable settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pbx

# The table's columns: the directions `pbx.classify` gives, and the inbound calls no one answered
# (a voicemail greeting answers a call).
MISSED = "MISSED"
COLUMNS = {"INBOUND": "inbound", MISSED: "missed", "OUTBOUND": "outbound", "INTERNAL": "internal", "UNKNOWN": "unknown"}
NO_OWNER = "-"  # the row of calls no user extension owns (e.g. missed in a queue, IVR to voicemail)


@dataclass
class ExtensionCounts:
    """Calls per extension: (column, in business hours) -> count. Without business hours every
    call counts as in them and the table shows one number a cell."""

    by_extension: dict[str, Counter[tuple[str, bool]]] = field(default_factory=dict)
    no_start_time: int = 0

    def add(self, extension: str, column: str, business: bool) -> None:
        self.by_extension.setdefault(extension, Counter())[(column, business)] += 1


def build_settings(
    args: argparse.Namespace,
) -> tuple[pbx.Config | pbx.CallMapper, pbx.BusinessHours | None, pbx.ExtensionMap | None]:
    """The mapping settings, business hours and extension map the arguments name."""
    if args.config is not None:
        config = pbx.load_config(args.config)
        return config, pbx.BusinessHours.from_config(config), config.extensions
    extensions = None
    if args.extensions is not None:
        text = Path(args.extensions).read_text(encoding="utf-8")
        extensions = pbx.ExtensionMap.from_yaml(text, key="extensions")
    mapping = pbx.CallMapper(
        timezone=args.timezone,
        extensions=extensions,
        default_region=args.default_region,
        internal_calls="as_outbound" if args.include_internal else "skip",
    )
    return mapping, pbx.BusinessHours.weekdays(args.timezone, args.hours), extensions


def extension_sort_key(extension: str) -> tuple[int, int, str]:
    """Numeric extensions in numeric order, then the others, the no-owner row last."""
    if extension == NO_OWNER:
        return (2, 0, extension)
    return (0, int(extension), extension) if extension.isdigit() else (1, 0, extension)


def write_extension_table(
    counts: ExtensionCounts, hours: pbx.BusinessHours | None, extensions: pbx.ExtensionMap | None, out: TextIO
) -> None:
    """The per-extension table: one row per owning extension, cells `business/after hours`."""
    present = {column for row in counts.by_extension.values() for column, _ in row}
    columns = [c for c in COLUMNS if c != "UNKNOWN" or c in present] + ["TOTAL"]
    split = hours is not None

    def cell(row: Counter[tuple[str, bool]], column: str) -> str:
        if column == "TOTAL":
            pairs = [(n, business) for (c, business), n in row.items() if c != MISSED]
        else:
            pairs = [(n, business) for (c, business), n in row.items() if c == column]
        inside = sum(n for n, business in pairs if business)
        after = sum(n for n, business in pairs if not business)
        return f"{inside}/{after}" if split else str(inside + after)

    if hours is not None:
        out.write(f"calls per extension (business hours/after hours, {hours.timezone}):\n")
    else:
        out.write("calls per extension (no business hours configured):\n")
    header = ["extension", "owner"] + [COLUMNS.get(c, c.lower()) for c in columns]
    rows: list[list[str]] = []
    total: Counter[tuple[str, bool]] = Counter()
    for extension in sorted(counts.by_extension, key=extension_sort_key):
        row = counts.by_extension[extension]
        total.update(row)
        if extension == NO_OWNER:
            owner = "(no user extension)"
        else:
            email = extensions.email_for(extension) if extensions is not None else None
            owner = email if email is not None else "(no email)"
        rows.append([extension, owner] + [cell(row, c) for c in columns])
    rows.append(["total", ""] + [cell(total, c) for c in columns])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        left = f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}"
        right = "  ".join(f"{v:>{w}}" for v, w in zip(r[2:], widths[2:]))
        out.write(f"  {left}  {right}".rstrip() + "\n")
    out.write("  (missed: inbound calls no one answered, also counted under inbound; a voicemail answers)\n")
    if counts.no_start_time:
        out.write(f"  calls without a start time (not in the table): {counts.no_start_time}\n")


def report(
    text: str,
    template: str,
    settings: pbx.Config | pbx.CallMapper,
    hours: pbx.BusinessHours | None,
    default_region: str,
    out: TextIO,
    jsonl: TextIO | None = None,
    extensions: pbx.ExtensionMap | None = None,
) -> dict[str, int]:
    """Writes the report to `out` and returns its counts."""
    results = pbx.CdrParser(template).parse_lines(text)  # one crossing for the whole file
    directions: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    errors: list[pbx.ParseError] = []
    after_hours = 0
    outside_numbers: list[str] = []
    per_extension = ExtensionCounts()
    for result in results:
        if isinstance(result, pbx.ParseError):
            errors.append(result)
            continue
        classification = pbx.classify(result, settings)
        if result.time_start is None:
            per_extension.no_start_time += 1
        else:
            business = hours is None or hours.is_open(result.time_start)
            owner = classification.owner or NO_OWNER
            per_extension.add(owner, classification.direction, business)
            if classification.direction == "INBOUND" and not result.is_answered:
                per_extension.add(owner, MISSED, business)
        request = pbx.to_call_request(result, settings)
        if isinstance(request, pbx.Skip):
            skipped[request.message] += 1
            continue
        directions[request["callDirection"]] += 1
        if jsonl is not None:
            jsonl.write(json.dumps({"line": result.line, "call": request}) + "\n")
        if request["callDirection"] == "INBOUND":
            if hours is not None and result.time_start is not None and not hours.is_open(result.time_start):
                after_hours += 1
            if classification.counterpart is not None:
                outside_numbers.append(classification.counterpart)

    calls = sum(directions.values())
    out.write(f"lines read:      {len(results)}\n")
    out.write(f"calls to send:   {calls} ({directions['INBOUND']} inbound, {directions['OUTBOUND']} outbound)\n")
    out.write(f"skipped:         {sum(skipped.values())}\n")
    for reason, n in skipped.most_common():
        out.write(f"  {n:4}  {reason}\n")
    out.write(f"unreadable:      {len(errors)}\n")
    for e in errors:
        out.write(f"  line {e.line}: {e}\n")
    if hours is not None:
        out.write(f"inbound after hours ({hours.timezone}): {after_hours}\n")
    normalized = pbx.normalize_numbers(outside_numbers, default_region, detailed=True)  # one batch
    top = Counter(n.value for n in normalized if n.kind == "e164" and n.value is not None)
    out.write("most frequent callers:\n")
    for number, n in top.most_common(3):
        out.write(f"  {n:4}  {number}\n")
    write_extension_table(per_extension, hours, extensions, out)
    return {"lines": len(results), "calls": calls, "skipped": sum(skipped.values()), "errors": len(errors), "after_hours": after_hours}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("input", help="the CDR file")
    parser.add_argument("--config", help="a sideloader YAML configuration (overrides the options below)")
    parser.add_argument("--template", default="27", help="CDR field layout: 20, 27 or the field names")
    parser.add_argument("--timezone", default="UTC", help="the PBX's IANA timezone")
    parser.add_argument("--extensions", help="a YAML file with an `extensions:` map")
    parser.add_argument("--default-region", default="US", help="ISO 3166 country of national numbers")
    parser.add_argument("--hours", default="09:00-17:00", help="weekday business hours (without --config)")
    parser.add_argument("--include-internal", action="store_true", help="send internal calls as OUTBOUND")
    parser.add_argument("--jsonl", help="also write the call requests here, one JSON object a line")
    args = parser.parse_args(argv)
    try:
        settings, hours, extensions = build_settings(args)
    except (pbx.ConfigError, OSError) as e:
        print(f"cdr_report: {e}", file=sys.stderr)
        if isinstance(e, pbx.ConfigError):
            for issue in e.issues:
                print(f"  {issue.path or '(config)'}: {issue.value!r} {issue.message}", file=sys.stderr)
        return 2
    region = settings.default_region if isinstance(settings, pbx.Config) else args.default_region
    text = Path(args.input).read_text(encoding="utf-8", errors="replace")
    if args.jsonl is not None:
        with open(args.jsonl, "w", encoding="utf-8") as jsonl:
            report(text, args.template, settings, hours, region, sys.stdout, jsonl, extensions)
    else:
        report(text, args.template, settings, hours, region, sys.stdout, extensions=extensions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
