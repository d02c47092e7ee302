#!/usr/bin/env python3
"""An independent reference for BusinessHours.is_open, on Python's zoneinfo.

Reads JSON on stdin: {"cases": [{"zone": str, "week": {"0".."6": [[start_s, end_s], ...]},
"instants": [unix seconds, ...]}]} (weekday 0 = Monday, times in seconds since midnight,
end <= start means overnight) and writes a JSON list of lists of booleans.

Rules: an interval belongs to the local date it starts on; its start is the first occurrence
of the local start time, its end the last occurrence of the local end time; a local time in a
spring-forward gap becomes the first instant after the gap.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def wall(u, z):
    return datetime.fromtimestamp(u, z).replace(tzinfo=None)


def to_utc(naive, z, earliest):
    candidates = []
    for fold in (0, 1):
        u = int(naive.replace(tzinfo=z, fold=fold).timestamp())
        if wall(u, z) == naive:
            candidates.append(u)
    if candidates:
        return min(candidates) if earliest else max(candidates)
    # A gap: the first second whose wall time is at or after `naive`.
    lo = int(naive.replace(tzinfo=timezone.utc).timestamp()) - 27 * 3600
    hi = lo + 54 * 3600
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(mid, z) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def is_open(u, z, week):
    day = wall(u, z).date()
    for delta in (-1, 0, 1):
        d = day + timedelta(days=delta)
        for start, end in week.get(str(d.weekday()), []):
            midnight = datetime(d.year, d.month, d.day)
            s = to_utc(midnight + timedelta(seconds=start), z, True)
            end_day = midnight + timedelta(days=1) if end <= start else midnight
            e = to_utc(end_day + timedelta(seconds=end % 86400 if end < 86400 else 0)
                       + (timedelta(days=1) if end >= 86400 else timedelta(0)), z, False)
            if s <= u < e:
                return True
    return False


def main():
    data = json.load(sys.stdin)
    out = []
    for case in data["cases"]:
        z = ZoneInfo(case["zone"])
        out.append([is_open(u, z, case["week"]) for u in case["instants"]])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
