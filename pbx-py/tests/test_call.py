"""classify and to_call_request: the API's JSON shape, skips with reasons, errors."""

from __future__ import annotations

import json

import pytest

import pbx

KEYS = [
    "phoneNumber",
    "callDuration",
    "callOwnerExtension",
    "callOwnerEmail",
    "callDirection",
    "timestamp",
    "pbxCallId",
]


@pytest.fixture(scope="module")
def sample(sample_text: str) -> list[pbx.Cdr]:
    out = []
    for r in pbx.CdrParser().parse_lines(sample_text):
        assert isinstance(r, pbx.Cdr)
        out.append(r)
    return out


@pytest.fixture(scope="module")
def anchorage(extensions: pbx.ExtensionMap) -> pbx.CallMapper:
    return pbx.CallMapper(timezone="America/Anchorage", extensions=extensions)


def test_the_first_call_is_the_readme_example(sample: list[pbx.Cdr], anchorage: pbx.CallMapper) -> None:
    call = pbx.to_call_request(sample[0], anchorage)
    assert isinstance(call, dict)
    assert list(call) == KEYS
    assert call == {
        "phoneNumber": "+19075551234",
        "callDuration": 184,
        "callOwnerExtension": "101",
        "callOwnerEmail": "anna.berg@example.com",
        "callDirection": "INBOUND",
        "timestamp": "2026-11-02T08:02:11.000-09:00",
        "pbxCallId": "3cx-40001-000001A19D361A38_5204",
    }


def test_calls_agree_with_the_expected_file(
    sample: list[pbx.Cdr], anchorage: pbx.CallMapper, expected_rows: list[list[str]]
) -> None:
    calls = 0
    for cdr, row in zip(sample, expected_rows):
        direction, owner, talk = row[1], row[2], int(row[4])
        result = pbx.to_call_request(cdr, anchorage)
        if isinstance(result, pbx.Skip):
            assert direction == "INTERNAL" or owner in ("", "112"), (cdr.line, result.message)
            continue
        calls += 1
        assert result["callDirection"] == direction
        assert result["callOwnerExtension"] == owner
        assert result["callDuration"] == talk
        assert result["pbxCallId"] == f"3cx-{cdr.history_id}-{cdr.call_id}"
    assert calls >= 40


def test_skips_say_why(sample: list[pbx.Cdr], anchorage: pbx.CallMapper) -> None:
    internal = pbx.to_call_request(sample[3], anchorage)
    assert isinstance(internal, pbx.Skip)
    assert (internal.reason, internal.message, internal.extension) == (
        "INTERNAL",
        "internal call (internal calls are not sent)",
        None,
    )
    unmapped = pbx.to_call_request(sample[22], anchorage)
    assert isinstance(unmapped, pbx.Skip)
    assert (unmapped.reason, unmapped.extension) == ("NO_OWNER_EMAIL", "112")
    assert unmapped.message == "extension 112 has no user email in the extension map"
    nobody = pbx.to_call_request(sample[9], anchorage)
    assert nobody == pbx.to_call_request(sample[9], anchorage)
    assert isinstance(nobody, pbx.Skip)
    # Line 10: nobody answered queue 800, and no missed_calls.route takes it.
    assert (nobody.reason, nobody.message) == (
        "MISSED_UNROUTED",
        "missed call to 800: missed_calls.route has no entry for it (nor a default)",
    )


def test_internal_calls_as_outbound_and_a_default_email(sample: list[pbx.Cdr]) -> None:
    mapping = pbx.CallMapper(
        timezone="America/Anchorage",
        extensions=pbx.ExtensionMap({"103": "carla@example.com"}, default_email="pbx@example.com"),
        internal_calls="as_outbound",
    )
    call = pbx.to_call_request(sample[3], mapping)
    assert isinstance(call, dict)
    assert (call["callDirection"], call["callOwnerExtension"], call["phoneNumber"]) == ("OUTBOUND", "103", "106")
    assert call["callOwnerEmail"] == "carla@example.com"
    other = pbx.to_call_request(sample[22], mapping)
    assert isinstance(other, dict)
    assert other["callOwnerEmail"] == "pbx@example.com"


def test_a_dict_works_as_extension_map(sample: list[pbx.Cdr]) -> None:
    mapping = pbx.CallMapper(extensions={"101": {"email": "a@example.com", "name": "A"}})
    call = pbx.to_call_request(sample[0], mapping)
    assert isinstance(call, dict)
    assert call["callOwnerEmail"] == "a@example.com"
    assert call["timestamp"] == "2026-11-02T17:02:11.000+00:00"


def test_classification_names_the_rule(sample: list[pbx.Cdr], anchorage: pbx.CallMapper) -> None:
    c = pbx.classify(sample[0], anchorage)
    assert (c.direction, c.owner, c.counterpart) == ("INBOUND", "101", "9075551234")
    assert c.rule_code == "FROM_TYPE_EXTERNAL"
    assert c.rule == "from-type is an external line"


def test_a_loaded_config_works_as_mapping(sample: list[pbx.Cdr], config: pbx.Config) -> None:
    call = pbx.to_call_request(sample[0], config)
    assert isinstance(call, dict)
    assert call["timestamp"] == "2026-11-02T08:02:11.000-09:00"
    assert call["callOwnerEmail"] == "anna.berg@example.com"
    assert pbx.classify(sample[0], config).direction == "INBOUND"


def test_a_record_without_start_time_raises_parse_error() -> None:
    cdr = pbx.CdrParser("historyid,callid").parse_line("Call 5,abc_1", line=3)
    with pytest.raises(pbx.ParseError) as info:
        pbx.to_call_request(cdr, pbx.CallMapper())
    e = info.value
    assert (e.kind, e.line, e.field, e.value) == ("invalid_value", 3, "time-start", "")


def test_unusable_settings_raise_config_error_with_the_setting() -> None:
    with pytest.raises(pbx.ConfigError) as info:
        pbx.CallMapper(timezone="Mars/Olympus")
    assert info.value.kind == "invalid_setting"
    assert info.value.issues[0][:2] == ("timezone", "Mars/Olympus")
    with pytest.raises(pbx.ConfigError) as info:
        pbx.CallMapper(internal_calls="sometimes")  # type: ignore[arg-type]
    assert info.value.issues == [("internal_calls", "sometimes", "expected one of skip, as_outbound")]
    with pytest.raises(pbx.ConfigError):
        pbx.CallMapper(default_region="XX")


def test_number_format_and_call_id_prefix_as_in_node(sample: list[pbx.Cdr], extensions: pbx.ExtensionMap) -> None:
    mapper = pbx.CallMapper(
        timezone="America/Anchorage",
        extensions=extensions,
        number_format="international",
        call_id_prefix="pbx1",
    )
    call = pbx.to_call_request(sample[0], mapper)
    assert isinstance(call, dict)
    assert call["phoneNumber"] == "+1 907-555-1234"
    assert call["pbxCallId"] == "pbx1-40001-000001A19D361A38_5204"
    assert "number_format='international'" in repr(mapper)
    with pytest.raises(pbx.ConfigError) as info:
        pbx.CallMapper(number_format="e.164")  # type: ignore[arg-type]
    assert info.value.issues == [
        ("number_format", "e.164", "expected one of e164, international, national, rfc3966")
    ]


def test_the_config_argument_is_checked(sample: list[pbx.Cdr]) -> None:
    with pytest.raises(TypeError):
        pbx.classify(sample[0], {"timezone": "UTC"})  # type: ignore[arg-type]


def test_map_lines_is_parse_lines_then_to_call_request(sample_text: str, anchorage: pbx.CallMapper) -> None:
    parser = pbx.CdrParser()
    fast = pbx.map_lines(parser, sample_text, anchorage)
    slow: list[tuple[int, object]] = []
    for r in parser.parse_lines(sample_text):
        assert isinstance(r, pbx.Cdr) and r.line is not None
        slow.append((r.line, pbx.to_call_request(r, anchorage)))
    assert fast == slow
    assert pbx.map_lines(parser, sample_text.splitlines(), anchorage) == fast


def test_map_lines_reports_bad_lines_in_place() -> None:
    parser = pbx.CdrParser("historyid,callid,time-start")
    out = pbx.map_lines(parser, "Call 1,a,2026/11/02 17:02:11\nCall 2,b,nope\n\nCall 4,c,\n", pbx.CallMapper())
    assert [line for line, _ in out] == [1, 2, 4]
    first = out[0][1]
    assert isinstance(first, pbx.Skip) and first.reason == "UNKNOWN_DIRECTION"
    assert first.message.startswith("direction unknown")
    bad = out[1][1]
    assert isinstance(bad, pbx.ParseError) and (bad.line, bad.field, bad.value) == (2, "time-start", "nope")
    missing = out[2][1]
    assert isinstance(missing, pbx.ParseError) and (missing.line, missing.field) == (4, "time-start")


def test_map_lines_json_is_map_lines_as_json(sample_text: str, anchorage: pbx.CallMapper) -> None:
    parser = pbx.CdrParser()
    objects = pbx.map_lines(parser, sample_text, anchorage)
    raw = pbx.map_lines_json(parser, sample_text, anchorage)
    assert isinstance(raw, bytes)
    bulk = json.loads(raw)
    assert [o["line"] for o in bulk] == [line for line, _ in objects]
    for o, (_, outcome) in zip(bulk, objects):
        if isinstance(outcome, pbx.Skip):
            assert o == {"line": o["line"], "skipped": outcome.message}
        elif isinstance(outcome, pbx.ParseError):
            assert o["error"]["field"] == outcome.field and o["error"]["message"] == str(outcome)
        else:
            assert o == {"line": o["line"], "call": outcome}
            assert list(o["call"]) == list(outcome)  # the API's field order
    assert pbx.map_lines_json(parser, sample_text.splitlines(), anchorage) == raw
    assert anchorage.map_lines_json(parser, sample_text) == raw
    assert json.loads(pbx.map_lines_json(parser, [], anchorage)) == []


def test_map_lines_json_reports_bad_lines_in_place() -> None:
    parser = pbx.CdrParser("historyid,callid,time-start")
    out = json.loads(pbx.map_lines_json(parser, "Call 1,a,2026/11/02 17:02:11\nCall 2,b,nope\n", pbx.CallMapper()))
    assert out[0] == {"line": 1, "skipped": "direction unknown: no type field, trunk DN or number pattern decides"}
    assert out[1]["line"] == 2 and out[1]["error"]["field"] == "time-start" and out[1]["error"]["value"] == "nope"


def test_the_call_mapper_has_the_node_binding_methods(
    sample_text: str, sample: list[pbx.Cdr], anchorage: pbx.CallMapper, config: pbx.Config
) -> None:
    # Node: mapper.classify(cdr), mapper.map(cdr), mapper.mapLines(parser, input), CallMapper.fromConfig.
    assert anchorage.classify(sample[0]).rule_code == pbx.classify(sample[0], anchorage).rule_code
    assert anchorage.map(sample[0]) == pbx.to_call_request(sample[0], anchorage)
    parser = pbx.CdrParser()
    assert anchorage.map_lines(parser, sample_text) == pbx.map_lines(parser, sample_text, anchorage)
    from_config = pbx.CallMapper.from_config(config)
    assert from_config.map(sample[0]) == pbx.to_call_request(sample[0], config)
    assert pbx.map_lines(parser, sample_text, config) == from_config.map_lines(parser, sample_text)
    # The former name still works.
    assert pbx.MappingConfig is pbx.CallMapper
