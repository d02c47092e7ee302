"""CdrParser and Cdr against the shared sample data and its hand-derived expectations."""

from __future__ import annotations

import datetime as dt

import pytest

import pbx
from conftest import DATA


def cdrs(results: list[pbx.Cdr | pbx.ParseError]) -> list[pbx.Cdr]:
    out = []
    for r in results:
        assert isinstance(r, pbx.Cdr), r
        out.append(r)
    return out


def test_every_sample_line_agrees_with_the_expected_file(
    sample_text: str, expected_rows: list[list[str]]
) -> None:
    parsed = cdrs(pbx.CdrParser("27").parse_lines(sample_text))
    assert len(parsed) == len(expected_rows) == 65
    mapping = pbx.CallMapper()  # the default direction policy, as the Rust sample test
    codes = {
        "FROM_TYPE_EXTERNAL", "TO_TYPE_EXTERNAL", "INTERNAL_TYPES", "FROM_TRUNK_DN", "TO_TRUNK_DN",
        "EXTERNAL_CALLER_NUMBER", "EXTERNAL_CALLEE_NUMBER", "INTERNAL_NUMBERS", "UNDETERMINED",
    }  # pbx.pyi's RuleCode
    for cdr, row in zip(parsed, expected_rows):
        c = pbx.classify(cdr, mapping)
        assert c.rule_code in codes
        got = [str(cdr.line), c.direction, c.owner or "", c.counterpart or "", str(cdr.talk_seconds)]
        assert got == row[:5], f"line {cdr.line}: rule {c.rule}"


def test_a_list_gives_the_same_records_as_the_text(sample_text: str) -> None:
    parser = pbx.CdrParser()
    assert parser.parse_lines(sample_text.splitlines()) == parser.parse_lines(sample_text)


def test_a_byte_order_mark_starting_the_text_is_not_part_of_the_first_record(sample_text: str) -> None:
    parser = pbx.CdrParser()
    assert parser.parse_lines("\ufeff" + sample_text) == parser.parse_lines(sample_text)
    assert cdrs(parser.parse_lines("\ufeff" + sample_text))[0].history_id == "40001"


def test_attributes_of_the_first_line(sample_text: str) -> None:
    cdr = pbx.CdrParser().parse_line(sample_text.splitlines()[0])
    assert cdr.line == 1
    assert cdr.history_id == "40001"
    assert cdr.call_id == "000001A19D361A38_5204"
    assert cdr.duration == dt.timedelta(seconds=184)
    assert cdr.time_start == dt.datetime(2026, 11, 2, 17, 2, 11, tzinfo=dt.timezone.utc)
    assert cdr.reason_terminated == "TerminatedBySrc"
    assert cdr.from_no == "9075551234"
    assert cdr.to_no == "Ext.101"
    assert cdr.chain == ["9075551234", "Ext.101"]
    assert (cdr.from_type, cdr.to_type, cdr.final_type) == ("Line", "Extension", "Extension")
    assert cdr.final_dispname == "Anna Berg"
    assert cdr.bill_code is None
    assert cdr.talk_seconds == 184
    assert cdr.is_answered
    d = cdr.to_dict()
    assert d["history_id"] == "40001"
    assert d["time_start"] == cdr.time_start
    assert set(d) >= {"from_no", "to_no", "chain", "missed_queue_calls", "talk_seconds"}


def test_quoted_and_non_ascii_fields(sample_text: str) -> None:
    parsed = cdrs(pbx.CdrParser().parse_lines(sample_text))
    assert parsed[4].from_no == "(907) 555-0175"
    assert parsed[5].final_dispname == "José Peña"
    assert parsed[8].from_dispname == "Smith, John"


def test_the_20_field_template_reads_the_v16_file() -> None:
    text = (DATA / "cdr-v16-20field.log").read_text(encoding="utf-8")
    parser = pbx.CdrParser("20")
    assert len(parser.fields) == 20
    parsed = cdrs(parser.parse_lines(text))
    assert len(parsed) == 10
    assert all(c.time_start is not None for c in parsed)


def test_a_bad_value_raises_parse_error_with_line_field_value() -> None:
    parser = pbx.CdrParser("historyid,duration")
    with pytest.raises(pbx.ParseError) as info:
        parser.parse_line("Call 1,xx:yy", line=7)
    e = info.value
    assert isinstance(e, pbx.PbxError)
    assert (e.kind, e.line, e.field, e.value) == ("invalid_value", 7, "duration", "xx:yy")
    assert str(e).startswith('line 7: field `duration` has value "xx:yy", expected ')


def test_bad_lines_come_back_in_place_and_do_not_stop_the_others() -> None:
    parser = pbx.CdrParser("historyid,duration")
    results = parser.parse_lines("Call 1,00:00:05\r\nCall 2,bad\r\n\r\nCall 3,\r\nCall 4\r\n")
    assert [type(r).__name__ for r in results] == ["Cdr", "ParseError", "Cdr", "ParseError"]
    bad = results[1]
    assert isinstance(bad, pbx.ParseError)
    assert (bad.line, bad.field, bad.value) == (2, "duration", "bad")
    short = results[3]
    assert isinstance(short, pbx.ParseError)
    assert (short.kind, short.line, short.field, short.value) == ("field_count", 5, None, None)
    third = results[2]
    assert isinstance(third, pbx.Cdr)
    assert third.line == 4 and third.duration is None


def test_a_list_gives_one_result_per_element() -> None:
    results = pbx.CdrParser("historyid").parse_lines(["Call 1", "", "Call 3"])
    assert len(results) == 3
    empty = results[1]
    assert isinstance(empty, pbx.ParseError)
    assert (empty.kind, empty.line) == ("empty_line", 2)


def test_too_long_lines_are_errors() -> None:
    with pytest.raises(pbx.ParseError) as info:
        pbx.CdrParser("historyid", max_line_len=5).parse_line("Call 123456")
    assert info.value.kind == "line_too_long"


def test_an_unknown_template_field_is_a_config_error() -> None:
    with pytest.raises(pbx.ConfigError) as info:
        pbx.CdrParser("historyid,wormhole")
    e = info.value
    assert e.kind == "unknown_field"
    assert str(e).startswith('unknown CDR field name "wormhole"')
    assert [(path, value) for path, value, _ in e.issues] == [("template", "wormhole")]
    assert pbx.template_fields("20")[-1] == "chain"


def test_a_str_is_not_taken_for_a_list() -> None:
    with pytest.raises(TypeError):
        pbx.CdrParser().parse_lines(42)  # type: ignore[arg-type]
