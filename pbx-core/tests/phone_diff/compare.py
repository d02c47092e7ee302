#!/usr/bin/env python3
"""Compares pbx-core's phone normalization with Python `phonenumbers` (libphonenumber).

Usage: compare.py CASES.jsonl OURS.jsonl
CASES: {"region", "raw"} per line (gen.py); OURS: pbx-core's outcome per line, same order.

The expected outcome is computed from the rules in pbx-core/src/phone.rs's module docs: the
3CX wrappers (withheld words, EndCall/Pickup, sip:/tel: URIs, Ext., caller-id codes, bare
extensions of 2-5 digits) are written out here again from those docs, and everything else is
libphonenumber's: parse(number, region), is_possible_number, format_number(E164) and the
parsed extension; for what it rejects, its reason. Exit status 1 and the first disagreements
printed when any input disagrees.
"""

import json
import re
import sys

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

WITHHELD = {"anonymous", "unknown", "private", "restricted", "withheld", "unavailable"}
PARSE_REASON = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
POSSIBLE_REASON = {
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_LENGTH: "invalid_length",
}
EXTENSION = re.compile(r"[0-9]{2,5}")
# Rust's str::trim: Unicode White_Space.
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def internal(v):
    return {"kind": "internal", "value": v}


def invalid(raw, reason):
    return {"kind": "invalid", "raw": raw, "reason": reason}


def libphonenumber(raw, number, region):
    try:
        n = phonenumbers.parse(number, region)
    except NumberParseException as e:
        return invalid(raw, PARSE_REASON[e.error_type])
    r = phonenumbers.is_possible_number_with_reason(n)
    if r not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return invalid(raw, POSSIBLE_REASON[r])
    out = {"kind": "e164", "value": phonenumbers.format_number(n, PhoneNumberFormat.E164)}
    if n.extension:
        out["extension"] = n.extension
    return out


def strip_ci(s, prefix):
    return s[len(prefix):] if s[: len(prefix)].lower() == prefix.lower() else None


def inner(raw, s, region):
    """Rules 4-7 (Ext., caller-id codes, bare extensions, libphonenumber)."""
    ext = strip_ci(s, "Ext.")
    if ext is not None:
        ext = ext.strip(WHITE_SPACE)
        return internal(ext) if ext else invalid(raw, "not_a_number")
    for code in ("*67", "*82", "#31#", "*31#"):
        if s.startswith(code) and s[len(code):].lstrip(WHITE_SPACE):
            s = s[len(code):].lstrip(WHITE_SPACE)
            break
    if EXTENSION.fullmatch(s):
        return internal(s)
    return libphonenumber(raw, s, region)


def expected(raw, region):
    s = raw.strip(WHITE_SPACE)
    if not s or s.lower() in WITHHELD:
        return {"kind": "anonymous"}
    if s.lower() == "endcall" or s.lower().startswith("pickup"):
        return invalid(raw, "not_a_party")
    rest = strip_ci(s, "sip:")
    if rest is None:
        rest = strip_ci(s, "sips:")
    if rest is not None:
        user = re.split(r"[@;]", rest)[0].strip(WHITE_SPACE)
        if not user or user.lower() in WITHHELD:
            return {"kind": "anonymous"}
        return inner(raw, user, region)
    rest = strip_ci(s, "tel:")
    if rest is not None:
        number = rest.split(";")[0].strip(WHITE_SPACE)
        if EXTENSION.fullmatch(number):
            return internal(number)
        return libphonenumber(raw, s, region)
    return inner(raw, s, region)


def main():
    cases_path, ours_path = sys.argv[1], sys.argv[2]
    total = e164 = 0
    bad = []
    regions = set()
    with open(cases_path, encoding="utf-8") as cf, open(ours_path, encoding="utf-8") as of:
        for line_no, (c, o) in enumerate(zip(cf, of, strict=True), 1):
            case, ours = json.loads(c), json.loads(o)
            regions.add(case["region"])
            want = expected(case["raw"], case["region"])
            total += 1
            e164 += want["kind"] == "e164"
            if ours != want:
                bad.append((line_no, case, ours, want))
    print(f"phone differential test: {total} inputs, {len(regions)} regions, "
          f"{e164} E.164 answers, {len(bad)} disagreements "
          f"(phonenumbers {phonenumbers.__version__})")
    for line_no, case, ours, want in bad[:25]:
        print(f"  #{line_no} {case['region']} {case['raw']!r}: ours {ours} != expected {want}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
