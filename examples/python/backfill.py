#!/usr/bin/env python3
"""An ops script on the `pbx` Python package: deliver the calls of a range of days again — what
`pbx-sideloader backfill --from FROM --to TO` does, from Python (after an outage of the
call-logger API, or to load history into a new one).

    python examples/python/backfill.py examples/config/embedded-default.yml 2026-11-05 2026-11-09

FROM and TO are days (`YYYY-MM-DD` in `pbx.timezone`, both included) or RFC 3339 instants (TO
excluded). The backfill keeps its own checkpoint, so the service's does not move and running
the same backfill again resumes it; the call-logger API's `pbxCallId` makes a call it already
has a duplicate, not a second entry. Exit codes as the binary's: 0 done, 1 stopped before its
end (run it again to resume), 2 an unusable configuration or range.
"""

from __future__ import annotations

import argparse
import sys

import pbx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("config", help="the sideloader's YAML configuration")
    parser.add_argument("start", metavar="FROM", help="the first day (YYYY-MM-DD) or instant (RFC 3339)")
    parser.add_argument("end", metavar="TO", help="the last day (included) or the instant after the range")
    args = parser.parse_args(argv)
    try:
        sideloader = pbx.Sideloader(args.config)
        summary = sideloader.backfill(args.start, args.end)
    except (pbx.ConfigError, OSError) as e:
        print(f"pbx-sideloader: {e}", file=sys.stderr)
        return 2
    except pbx.PbxError as e:
        print(f"pbx-sideloader: {e}; run the same backfill again to resume", file=sys.stderr)
        return 1
    print(f"pbx-sideloader: {summary['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
