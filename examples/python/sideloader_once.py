#!/usr/bin/env python3
"""An ops script on the `pbx` Python package: one drain of the sideloader from a configuration,
then its summary — what `pbx-sideloader --once` does, from Python (a cron job, a runbook step).

    python examples/python/sideloader_once.py examples/config/embedded-default.yml

The source, the sink (the call-logger API or a JSON-lines file), the checkpoint and the
quarantine are the configuration's; the runtime is the one `pbx-sideloader` runs. Exit codes as
the binary's: 0 done, 1 a runtime failure (credentials refused, the API kept failing: calls
are left for the next run), 2 an unusable configuration (every problem printed with its path).
"""

from __future__ import annotations

import argparse
import sys

import pbx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("config", help="the sideloader's YAML configuration")
    args = parser.parse_args(argv)
    try:
        sideloader = pbx.Sideloader(args.config)
        summary = sideloader.run_once()
    except (pbx.ConfigError, OSError) as e:
        print(f"pbx-sideloader: {e}", file=sys.stderr)
        return 2
    except pbx.PbxError as e:
        print(f"pbx-sideloader: {e}", file=sys.stderr)
        return 1
    print(f"pbx-sideloader: {summary['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
