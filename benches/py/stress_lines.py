"""Prints N (default 20 000) CDR lines for benches/same-output.sh: lines of the bundled sample
with up to five fields replaced at random (types, numbers, DNs, chains, ids, times, quoted
text, bad values), a few in Latin-1, blank or CRLF-ended. Deterministic (seed 20).

    python3 benches/py/stress_lines.py [N] > /tmp/stress.log
"""

import os
import random
import sys

random.seed(20)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "../../examples/data/cdr-sample.log"), encoding="utf-8") as f:
    lines = [line for line in f.read().split("\n") if line.strip()]
values = [
    "", " ", "Ext.101", "Ext.102", "ext. 194 ", "101", "611", "10000", "800", "0466452265",
    "+46703014082", "(907) 555-1234", "+1 907 555 1234", "011 44 20 7946 0018", "anonymous",
    "EndCall", "PickupExt.125", "sip:102@pbx.local", "12-34", "Extension", "Line",
    "external_line", "outbound_rule", "Queue", "RingGroup", "VMail", "Wormhole", "Ivr",
    "Chain: 0466452265;Ext.611;Ext.194;", "Chain: Ext.101;Ext.800;", ";;", "Call 5", "x_1",
    "2020/06/29 07:56:32", "2024-06-17T05:59:49.5", "00:03:43", "bad", '"quoted, text"', '"a ""b"""',
    "Jos\u00c9", "TerminatedBySrc", "ReplacedDst", "+44 20 7946 0018 ext. 12", "1-800-FLOWERS",
]  # fmt: skip
out = []
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 20000):
    fields = random.choice(lines).split(",")
    for _ in range(random.randint(0, 5)):
        fields[random.randrange(len(fields))] = random.choice(values)
    b = ",".join(fields).encode("utf-8")
    if random.random() < 0.05:
        b = b.replace("\u00c9".encode(), b"\xc9")
    if random.random() < 0.02:
        b = b""
    if random.random() < 0.02:
        b += b"\r"
    out.append(b)
sys.stdout.buffer.write(b"\n".join(out) + b"\n")
