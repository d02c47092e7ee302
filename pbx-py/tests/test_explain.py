"""`CallMapper.explain` and `Sideloader.explain`: the decision trail from the core, thin over
`pbx_core::explain` (docs/explain.md); the same names and keys as Node's."""

from __future__ import annotations

from pathlib import Path

import pbx

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "examples" / "data" / "cdr-sample.log").read_text(encoding="utf-8").splitlines()


def sample_mapper() -> pbx.CallMapper:
    text = (ROOT / "examples" / "config" / "embedded-default.yml").read_text(encoding="utf-8")
    return pbx.CallMapper.from_config(pbx.Config.from_yaml(text))


def test_explain_agrees_with_map_on_every_sample_line() -> None:
    mapper = sample_mapper()
    parser = pbx.CdrParser("27")
    for i, line in enumerate(SAMPLE, start=1):
        e = mapper.explain(line, parser)
        mapped = mapper.map(parser.parse_line(line, i))
        if isinstance(mapped, pbx.Skip):
            assert e["outcome"]["kind"] == "skipped", i
            assert e["outcome"]["reason"].upper() == mapped.reason, i
            assert e["outcome"]["because"] == mapped.message, i
        else:
            assert e["outcome"]["kind"] == "call", i
            assert e["outcome"]["request"] == dict(mapped), i
            assert e["owner"]["extension"] == mapped["callOwnerExtension"]
            email = e["email"]
            assert email is not None
            assert email["source"] == "map"
        assert e["text"].startswith("call       3cx-"), e["text"]


def test_explain_names_the_rules_and_takes_a_cdr() -> None:
    mapper = sample_mapper()
    cdr = pbx.CdrParser("27").parse_line(SAMPLE[2])
    e = mapper.explain(cdr)
    assert e["direction"]["rule"] == "FROM_TYPE_EXTERNAL"
    assert e["owner"]["rule"] == "FINAL_DN"
    assert e["owner"]["from"] == "final-dn"
    other = e["other_party"]
    assert other is not None
    assert other["normalized"] == "+19075550142"
    bad = mapper.explain("Call 1,abc,too few fields")
    assert bad["outcome"]["kind"] == "refused"


def test_sideloader_explain_reads_the_source(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "config" / "embedded-default.yml").read_text(encoding="utf-8")
    text = text.replace("examples/data/", str(ROOT / "examples" / "data") + "/")
    s = pbx.Sideloader(pbx.Config.from_yaml(text.replace("out/", f"{tmp_path}/")))
    before = s.explain("40003")
    assert before is not None
    assert before["delivery"]["position"] == "no_checkpoint"
    s.run_once()
    after = s.explain("3cx-40003-000001A19D6FA898_5209")
    assert after is not None
    assert after["delivery"]["position"] == "before_checkpoint"
    assert after["outcome"]["request"]["callOwnerExtension"] == "104"
    by_line = s.explain(line=3)
    assert by_line is not None and by_line["pbx_call_id"] == after["pbx_call_id"]
    assert s.explain("no-such-call") is None
