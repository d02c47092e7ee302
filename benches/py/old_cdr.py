"""A plain-Python equivalent of benches/js/old-cdr.js (the old Node sideloader's way of turning
3CX CDR lines into call requests), written for the comparison in benches/compare.sh and not
used by pbx: split each line on commas, clean fields with regular expressions, build one dict
per record, decide the direction from the type fields, look the owner up in the extension map,
clean the number NANP-style and format the timestamp in the PBX's timezone with zoneinfo. Like
the JS it knows nothing of CSV quoting or phone-number rules beyond NANP.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

FIELDS = [
    "historyid", "callid", "duration", "timeStart", "timeAnswered", "timeEnd", "reasonTerminated",
    "fromNo", "toNo", "fromDn", "toDn", "dialNo", "reasonChanged", "finalNumber", "finalDn",
    "billCode", "billRate", "billCost", "billName", "chain", "fromType", "toType", "finalType",
    "fromDispname", "toDispname", "finalDispname", "missedQueueCalls",
]  # fmt: skip

EXTERNAL_TYPES = re.compile(r"^(line|external_line|outbound_rule)$", re.I)
SERVICE_TYPES = re.compile(r"^(queue|ringgroup|ring_group|ivr|vmail|voicemail)$", re.I)
INTERNAL_NUMBER = re.compile(r"^(?:Ext\.)?(\d{2,5})$", re.I)
WITHHELD = re.compile(r"^(anonymous|unknown|private|restricted|withheld|unavailable)$", re.I)
QUOTES = re.compile(r'^\s*"?|"?\s*$')
CALL = re.compile(r"^Call\s+", re.I)
CHAIN = re.compile(r"^Chain:\s*", re.I)
TIME = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})")
DURATION = re.compile(r"^(\d+):(\d{2}):(\d{2})")
NOT_DIGIT = re.compile(r"[^\d+]")


def parse_record(line: str) -> dict[str, str | list[str]]:
    parts = line.rstrip("\r").split(",")
    rec: dict[str, str | list[str]] = {}
    for i, name in enumerate(FIELDS):
        rec[name] = QUOTES.sub("", parts[i] if i < len(parts) else "")
    rec["historyid"] = CALL.sub("", str(rec["historyid"]))
    rec["chain"] = [s for s in CHAIN.sub("", str(rec["chain"])).split(";") if s]
    return rec


def parse_time(s: str) -> datetime | None:
    m = TIME.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.groups())
    return datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc)


def parse_duration(s: str) -> int:
    m = DURATION.match(s)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) if m else 0


def clean_number(raw: str) -> str:
    if WITHHELD.match(raw):
        return "anonymous"
    ext = INTERNAL_NUMBER.match(raw)
    if ext:
        return ext[1]
    digits = NOT_DIGIT.sub("", raw)
    if digits.startswith("011"):
        digits = "+" + digits[3:]
    if len(digits) == 10 and digits.isdigit():
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1") and digits.isdigit():
        return "+" + digits
    return digits


def extension_of(raw: str) -> str | None:
    m = INTERNAL_NUMBER.match(raw)
    return m[1] if m else None


def make_mapper(time_zone: str, extensions: dict[str, str]) -> Callable[[str], dict[str, object]]:
    tz = ZoneInfo(time_zone)

    def map_line(line: str) -> dict[str, object]:
        rec = parse_record(line)
        start = parse_time(str(rec["timeStart"]))
        if start is None:
            return {"error": "bad time-start"}
        from_type, to_type, final_type = str(rec["fromType"]), str(rec["toType"]), str(rec["finalType"])
        if EXTERNAL_TYPES.match(from_type):
            direction = "INBOUND"
            owner = extension_of(str(rec["finalNumber"])) or str(rec["finalDn"])
            number = str(rec["fromNo"])
        elif EXTERNAL_TYPES.match(to_type) or EXTERNAL_TYPES.match(final_type):
            direction = "OUTBOUND"
            owner = extension_of(str(rec["fromNo"])) or str(rec["fromDn"])
            number = str(rec["finalNumber"] or rec["dialNo"] or rec["toNo"])
        else:
            return {"skipped": "internal"}
        if direction == "INBOUND" and SERVICE_TYPES.match(final_type):
            return {"skipped": "no owner"}
        email = extensions.get(owner)
        if not email:
            return {"skipped": "no owner email"}
        return {
            "phoneNumber": clean_number(number),
            "callDuration": parse_duration(str(rec["duration"])),
            "callOwnerExtension": owner,
            "callOwnerEmail": email,
            "callDirection": direction,
            "timestamp": start.astimezone(tz).isoformat(timespec="milliseconds"),
            "pbxCallId": f"3cx-{rec['historyid']}-{rec['callid']}",
        }

    return map_line
