#!/usr/bin/env python3
"""An ops script on the `pbx` Python package: a daily report over a 3CX CDR file.

It parses every line, maps each call to the call-logger API's request (or the reason it is
skipped), lists the lines that cannot be read, counts the calls that arrived outside business
hours and the most frequent outside numbers (normalized to E.164 in one batch), and can write
the call requests as JSON lines for a later upload.

    python examples/python/cdr_report.py --timezone America/Anchorage \\
        --extensions examples/data/extensions.yml examples/data/cdr-sample.log

    python examples/python/cdr_report.py --config examples/config/sideloader.yml \\
        --jsonl /tmp/calls.jsonl examples/data/cdr-sample.log

Exit codes: 0 (even with bad lines: they are reported), 2 for unusable settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

import pbx


def build_settings(args: argparse.Namespace) -> tuple[pbx.Config | pbx.CallMapper, pbx.BusinessHours | None]:
    """The mapping settings and business hours the arguments name."""
    if args.config is not None:
        config = pbx.load_config(args.config)
        try:
            hours: pbx.BusinessHours | None = pbx.BusinessHours.from_config(config)
        except ValueError:
            hours = None
        return config, hours
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
    return mapping, pbx.BusinessHours.weekdays(args.timezone, args.hours)


def report(
    text: str,
    template: str,
    settings: pbx.Config | pbx.CallMapper,
    hours: pbx.BusinessHours | None,
    default_region: str,
    out: TextIO,
    jsonl: TextIO | None = None,
) -> dict[str, int]:
    """Writes the report to `out` and returns its counts."""
    results = pbx.CdrParser(template).parse_lines(text)  # one crossing for the whole file
    directions: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    errors: list[pbx.ParseError] = []
    after_hours = 0
    outside_numbers: list[str] = []
    for result in results:
        if isinstance(result, pbx.ParseError):
            errors.append(result)
            continue
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
            counterpart = pbx.classify(result, settings).counterpart
            if counterpart is not None:
                outside_numbers.append(counterpart)

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
    normalized = pbx.normalize_numbers(outside_numbers, default_region)  # one batch
    top = Counter(n.value for n in normalized if n.kind == "e164" and n.value is not None)
    out.write("most frequent callers:\n")
    for number, n in top.most_common(3):
        out.write(f"  {n:4}  {number}\n")
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
        settings, hours = build_settings(args)
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
            report(text, args.template, settings, hours, region, sys.stdout, jsonl)
    else:
        report(text, args.template, settings, hours, region, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
