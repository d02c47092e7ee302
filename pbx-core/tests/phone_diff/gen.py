#!/usr/bin/env python3
"""Generates the phone differential-test corpus: JSON lines {"region": "US", "raw": "..."}.

Deterministic (fixed seed). Needs Python `phonenumbers` (for example numbers and formats).
Usage: gen.py OUT.jsonl [COUNT_SCALE]

What it makes, for 20 default regions:
- numbers of many regions and types (example numbers with randomized trailing digits),
  each spelled many ways: E.164, international, national, RFC 3966 `tel:`, digits only,
  dots/dashes/parentheses, the default region's international prefix (`011`, `00`, ...),
  an extension suffix, `sip:` URIs, caller-id codes (`*67`), white space around;
- NANP stress input: random 9-12 digit strings with every area-code first digit, with and
  without `1`/`+1`/`011`, in random punctuation (the fast path's whole neighbourhood);
- vanity numbers (`1-800-FLOWERS` style);
- 3CX specials: `Ext.101`, `sip:101@pbx.local`, `tel:101`, `PickupExt.125`, `EndCall`,
  withheld words in any case, blanks;
- junk: random strings of digits, punctuation, letters and non-ASCII digits and plus signs.
"""

import json
import random
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REGIONS = ["US", "CA", "GB", "DE", "SE", "FR", "AU", "IN", "BR", "MX",
           "JP", "AR", "IT", "CN", "ZA", "NL", "CH", "RU", "ES", "NO"]
# Regions whose numbers are dialled from the default regions.
SOURCES = REGIONS + ["IE", "PL", "DK", "FI", "AT", "BE", "PT", "KR", "SG", "NZ", "IL", "AE"]
# International prefixes where the metadata gives a pattern rather than digits.
IDD_FALLBACK = {"AU": "0011", "BR": "0021", "CN": "00", "MX": "00", "RU": "810"}
TYPES = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP, PhoneNumberType.UAN,
         PhoneNumberType.SHARED_COST, PhoneNumberType.PERSONAL_NUMBER]
SEPARATORS = [" ", "-", ".", "", " - ", "  "]
WITHHELD = ["anonymous", "unknown", "private", "restricted", "withheld", "unavailable"]
JUNK_ALPHABET = list("0123456789" * 4 + "+-().# */,x;:" + "abcdefghEXTsip@" + "\t") + [
    "\uff10", "\uff11", "\uff15", "\u0661", "\u0665", "\uff0b", "\u2010", "\u00a0", "\u3000"]


def idd(region):
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pref = md.preferred_international_prefix or md.international_prefix or ""
    return pref if pref.isdigit() else IDD_FALLBACK.get(region, "00")


def randomize(num, rng):
    """The same number with its last 1-4 digits changed."""
    nsn = phonenumbers.national_significant_number(num)
    k = min(len(nsn) - 1, rng.randint(1, 4))
    tail = "".join(rng.choice("0123456789") for _ in range(k))
    new = nsn[: len(nsn) - k] + tail
    n = phonenumbers.PhoneNumber(country_code=num.country_code, national_number=int(new))
    if num.italian_leading_zero:
        n.italian_leading_zero = True
        n.number_of_leading_zeros = num.number_of_leading_zeros
    return n


def regroup(digits, rng):
    """Digits split into random groups joined by random separators."""
    out, i = [], 0
    sep = rng.choice(SEPARATORS)
    while i < len(digits):
        j = i + rng.randint(2, 4)
        out.append(digits[i:j])
        i = j
    if rng.random() < 0.3 and len(out) > 1:
        out[0] = "(" + out[0] + ")"
    return sep.join(out)


def spellings(num, region, rng):
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    intl = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
    natl = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    rfc = phonenumbers.format_number(num, PhoneNumberFormat.RFC3966)
    cc = str(num.country_code)
    nsn = phonenumbers.national_significant_number(num)
    natl_digits = "".join(c for c in natl if c.isdigit())
    out = [e164, intl, natl, rfc, natl_digits, regroup(natl_digits, rng),
           idd(region) + " " + cc + " " + regroup(nsn, rng),
           idd(region) + cc + nsn, "00" + cc + nsn, "+" + cc + " (0)" + regroup(nsn, rng),
           cc + nsn, "+" + regroup(cc + nsn, rng),
           natl.replace(" ", "."), natl.replace(" ", "-"),
           "sip:" + e164 + "@carrier.example;user=phone", "sip:" + natl_digits + "@pbx.local",
           "sips:" + e164 + "@10.0.0.1:5061", "tel:" + e164,
           "tel:" + natl_digits + ";phone-context=+" + cc,
           "  " + intl + " ", e164 + " ext. " + str(rng.randint(1, 99999)),
           natl + " x" + str(rng.randint(1, 999)), e164 + ";ext=" + str(rng.randint(1, 9999)),
           natl + " #" + str(rng.randint(1, 99)), "#31#" + e164, "*67 " + natl,
           "*82" + natl_digits]
    return out


def nanp_stress(rng):
    n = rng.choice([9, 10, 10, 10, 10, 11, 12])
    digits = "".join(rng.choice("0123456789") for _ in range(n))
    prefix = rng.choice(["", "", "", "1", "+1", "+", "011", "1-", "+1 ", "011 1 ", "*67", "0"])
    body = regroup(digits, rng) if rng.random() < 0.7 else digits
    return prefix + body


def vanity(rng):
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWXY") for _ in range(rng.randint(4, 8)))
    return rng.choice(["1-800-", "800-", "1 888 ", "+1-877-", "(866) "]) + letters


def specials(rng):
    ext = str(rng.randint(10, 99999))
    w = rng.choice(WITHHELD)
    w = "".join(c.upper() if rng.random() < 0.5 else c for c in w)
    return rng.choice([
        "Ext." + ext, "ext." + ext, "EXT. " + ext, "sip:" + ext + "@pbx.local",
        "sip:" + ext + "@10.1.2.3;transport=udp", "tel:" + ext, ext, "PickupExt." + ext,
        "Pickup" + ext, "EndCall", "endcall", w, " " + w + " ", "sip:" + w + "@anonymous.invalid",
        "", "   ", "\t", "sip:@host", "Ext.", "*67", "*67 " + ext, "#31#", "*777", "*4",
        str(rng.randint(0, 9)), str(rng.randint(100000, 999999)),
    ])


def junk(rng):
    return "".join(rng.choice(JUNK_ALPHABET) for _ in range(rng.randint(0, 18)))


def main():
    out_path = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    rng = random.Random(20261125)
    examples = []
    for src in SOURCES:
        for t in TYPES:
            ex = phonenumbers.example_number_for_type(src, t)
            if ex is not None:
                examples.append(ex)
    cases = []
    for region in REGIONS:
        for _ in range(int(160 * scale)):
            num = randomize(rng.choice(examples), rng)
            for raw in spellings(num, region, rng):
                cases.append((region, raw))
        for _ in range(int(700 * scale)):
            cases.append((region, nanp_stress(rng)))
        for _ in range(int(100 * scale)):
            cases.append((region, vanity(rng)))
        for _ in range(int(150 * scale)):
            cases.append((region, specials(rng)))
        for _ in range(int(500 * scale)):
            cases.append((region, junk(rng)))
    # The one junk input an earlier measurement found rlibphonenumber and phonenumbers to
    # disagree on, kept for good.
    cases.append(("US", "/-51#0),(+/"))
    # Around libphonenumber's input length limit (250 characters).
    for n in (240, 250, 251, 400):
        cases.append(("US", "9" * n))
        cases.append(("DE", "+49 30 " + "1" * (n - 7)))
    with open(out_path, "w", encoding="utf-8") as f:
        for region, raw in cases:
            f.write(json.dumps({"region": region, "raw": raw}, ensure_ascii=False) + "\n")
    print(f"gen.py: {len(cases)} inputs for {len(REGIONS)} regions -> {out_path}")


if __name__ == "__main__":
    main()
