"""One timing for benches/compare.sh, in a process of its own (so its peak RSS is its own).

    python bench.py phone-phonenumbers FILE   phonenumbers: parse + is_possible + E.164
    python bench.py phone-pbx FILE            pbx.normalize_numbers (one batch, the bulk form: str | None)
    python bench.py phone-pbx-detailed FILE   pbx.normalize_numbers(detailed=True) (NormalizedNumber objects)
    python bench.py cdr-py FILE               plain Python, the old sideloader's way (old_cdr.py)
    python bench.py cdr-pbx FILE              pbx CdrParser.parse_lines + to_call_request each
    python bench.py cdr-pbx-batch FILE        pbx.map_lines (parse and map in one batch, objects)
    python bench.py cdr-pbx-json FILE         pbx.map_lines_json + json.loads (the bulk form)

FILE holds one input per line. Prints `rate=<items per second> n=<items> check=<n>`: the best
of RUNS (default 2) runs, after a warm-up run that is not counted.
"""

import os
import re
import sys
import time

mode, path = sys.argv[1], sys.argv[2]
runs = int(os.environ.get("RUNS", "2"))
with open(path, encoding="utf-8") as f:
    text = f.read()
lines = [line for line in text.split("\n") if line]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "../../examples/data/extensions.yml"), encoding="utf-8") as f:
    extensions = {
        m.group(1): m.group(2) or m.group(3)
        for m in re.finditer(r'^\s*"(\d+)":\s*(?:\{\s*email:\s*([^,\s}]+)|([^\s#]+))', f.read(), re.M)
    }


def timed(fn):
    check = fn()
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        check = fn()
        best = min(best, time.perf_counter() - t)
    print(f"rate={len(lines) / best:.0f} n={len(lines)} check={check}")


if mode == "phone-phonenumbers":
    import phonenumbers
    from phonenumbers import PhoneNumberFormat

    def run():
        e164 = 0
        for s in lines:
            try:
                n = phonenumbers.parse(s, "US")
                if phonenumbers.is_possible_number(n) and phonenumbers.format_number(n, PhoneNumberFormat.E164):
                    e164 += 1
            except phonenumbers.NumberParseException:
                pass
        return e164

    timed(run)
elif mode == "phone-pbx":
    import pbx

    timed(lambda: sum(1 for n in pbx.normalize_numbers(lines, "US") if n is not None and n[0] == "+"))
elif mode == "phone-pbx-detailed":
    import pbx

    timed(lambda: sum(1 for n in pbx.normalize_numbers(lines, "US", detailed=True) if n.kind == "e164"))
elif mode == "cdr-py":
    sys.path.insert(0, here)
    from old_cdr import make_mapper

    map_line = make_mapper("America/Anchorage", extensions)
    timed(lambda: sum(1 for line in lines if "phoneNumber" in map_line(line)))
elif mode == "cdr-pbx-json":
    import json

    import pbx

    parser = pbx.CdrParser("27")
    config = pbx.CallMapper(timezone="America/Anchorage", extensions=extensions)
    timed(lambda: sum(1 for o in json.loads(pbx.map_lines_json(parser, text, config)) if "call" in o))
elif mode in ("cdr-pbx", "cdr-pbx-batch"):
    import pbx

    parser = pbx.CdrParser("27")
    config = pbx.MappingConfig(timezone="America/Anchorage", extensions=extensions)

    def per_record():
        calls = 0
        for cdr in parser.parse_lines(text):
            if isinstance(cdr, pbx.Cdr) and isinstance(pbx.to_call_request(cdr, config), dict):
                calls += 1
        return calls

    def batch():
        return sum(1 for _, out in pbx.map_lines(parser, text, config) if isinstance(out, dict))

    timed(per_record if mode == "cdr-pbx" else batch)
else:
    sys.exit(f"unknown mode {mode}")
