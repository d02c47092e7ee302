"""Every public function and class rejects an argument of the wrong type with a TypeError
whose message names the parameter (`argument 'raw': …`, on every Python version) — never
silently as if it were absent (the Node binding's `normalizeNumbers(numbers, 'AU')` bug,
checked on this side too)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest

import pbx

LINE = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,"
NOW = datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.timezone.utc)


def _wrong() -> list[tuple[str, str, Callable[[], Any]]]:
    # Through `Any`: these calls are wrong on purpose, and mypy would (rightly) refuse them.
    api: Any = pbx
    parser = api.CdrParser("27")
    cdr = parser.parse_line(LINE)
    mapper = api.CallMapper()
    hours = api.BusinessHours.weekdays("UTC")
    monitor = api.GroupMonitor(hours)
    state = api.MonitorState()
    ext = api.ExtensionMap()
    config = api.Config.from_yaml("source: {kind: file, path: /tmp/x}\ncall_api: {base_url: 'http://x:1'}\n")
    wrong: list[tuple[str, str, Callable[[], Any]]] = [
        ("normalize_number", "raw", lambda: api.normalize_number(2123444676)),
        ("normalize_number", "default_region", lambda: api.normalize_number("1", 42)),
        ("normalize_numbers", "raws", lambda: api.normalize_numbers(42, "AU")),
        ("normalize_numbers", "default_region", lambda: api.normalize_numbers(["1"], 42)),
        ("template_fields", "template", lambda: api.template_fields(27)),
        ("CdrParser", "template", lambda: api.CdrParser(27)),
        ("CdrParser", "max_line_len", lambda: api.CdrParser("27", "long")),
        ("CdrParser.parse_line", "text", lambda: parser.parse_line(42)),
        ("CdrParser.parse_lines", "lines", lambda: parser.parse_lines(42)),
        ("CallMapper", "timezone", lambda: api.CallMapper(timezone=42)),
        ("CallMapper", "extensions", lambda: api.CallMapper(extensions=42)),
        ("CallMapper", "default_region", lambda: api.CallMapper(default_region=42)),
        ("CallMapper.from_config", "config", lambda: api.CallMapper.from_config("config.yml")),
        ("CallMapper.classify", "cdr", lambda: mapper.classify(LINE)),
        ("CallMapper.map", "cdr", lambda: mapper.map(LINE)),
        ("CallMapper.map_lines", "parser", lambda: mapper.map_lines("27", [LINE])),
        ("classify", "cdr", lambda: api.classify(LINE, mapper)),
        ("to_call_request", "cdr", lambda: api.to_call_request(LINE, mapper)),
        ("map_lines", "parser", lambda: api.map_lines("27", [LINE], mapper)),
        ("ExtensionMap", "mapping", lambda: api.ExtensionMap(42)),
        ("ExtensionMap", "default_email", lambda: api.ExtensionMap({}, 42)),
        ("ExtensionMap.from_yaml", "text", lambda: api.ExtensionMap.from_yaml(42)),
        ("ExtensionMap.from_config", "config", lambda: api.ExtensionMap.from_config("x")),
        ("ExtensionMap.set", "extension", lambda: ext.set(101, "a@example.com")),
        ("ExtensionMap.set", "email", lambda: ext.set("101", 42)),
        ("ExtensionMap.set", "name", lambda: ext.set("101", "a@example.com", 42)),
        ("Cdr.to_line", "template", lambda: cdr.to_line(27)),
        ("BusinessHours.from_config_group", "config", lambda: api.BusinessHours.from_config_group("x", "800")),
        ("BusinessHours.from_config_group", "group_id", lambda: api.BusinessHours.from_config_group(config, 800)),
        ("BusinessHours.state", "at", lambda: hours.state("2026-11-02")),
        ("GroupMonitor.evaluate", "state", lambda: monitor.evaluate([], {}, NOW)),
        ("GroupMonitor.evaluate", "now", lambda: monitor.evaluate([], state, "now")),
        ("Config.from_yaml", "text", lambda: api.Config.from_yaml(42)),
        ("Config.load", "path", lambda: api.Config.load(42)),
        ("load_config", "path", lambda: api.load_config(42)),
        ("BusinessHours.from_config", "config", lambda: api.BusinessHours.from_config("x")),
        ("BusinessHours.from_xapi", "office_hours", lambda: api.BusinessHours.from_xapi(42)),
        ("BusinessHours.weekdays", "timezone", lambda: api.BusinessHours.weekdays(42)),
        ("BusinessHours.always", "timezone", lambda: api.BusinessHours.always(42)),
        ("BusinessHours.never", "timezone", lambda: api.BusinessHours.never(42)),
        ("BusinessHours.is_open", "at", lambda: hours.is_open("2026-11-02")),
        ("BusinessHours.next_change", "at", lambda: hours.next_change(42)),
        ("GroupMonitor", "hours", lambda: api.GroupMonitor("hours")),
        ("GroupMonitor", "debounce", lambda: api.GroupMonitor(hours, debounce="2")),
        ("GroupMonitor.from_config", "config", lambda: api.GroupMonitor.from_config(42)),
        ("MonitorState.from_json", "text", lambda: api.MonitorState.from_json(42)),
        ("MonitorState.record_alert_id", "group_id", lambda: state.record_alert_id(1, "a")),
        ("MonitorState.record_opened", "request", lambda: state.record_opened(1, {})),
        ("MonitorState.open_failed", "group_id", lambda: state.open_failed(1)),
        ("MonitorState.resolve_failed", "group_id", lambda: state.resolve_failed(1, {})),
        ("MonitorState.resolve_failed", "alert", lambda: state.resolve_failed("800", 42)),
        ("MonitorState.adopt_active", "now", lambda: state.adopt_active([], "now")),
        ("evaluate_groups", "monitor", lambda: api.evaluate_groups("m", [], state, NOW)),
        ("evaluate_groups", "now", lambda: api.evaluate_groups(monitor, [], state, "now")),
    ]
    assert cdr.history_id
    return wrong


def _id(value: object) -> str:
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize("name,param,call", _wrong(), ids=_id)
def test_a_wrong_argument_type_is_a_type_error_naming_the_parameter(
    name: str, param: str, call: Callable[[], Any]
) -> None:
    with pytest.raises(TypeError) as info:
        call()
    # The message itself names the parameter, on every Python version (pyo3's own note
    # `while processing 'raw'` exists only from 3.11, where exceptions have notes).
    assert re.search(rf"\b{param}\b", str(info.value)), f"{name}: {info.value}"


def test_the_region_as_a_string_is_the_documented_form() -> None:
    assert pbx.normalize_numbers(["(02) 1234 4676"], "AU") == ["+61212344676"]
    au = pbx.normalize_numbers(["(02) 1234 4676"], "AU", detailed=True)
    assert [n.value for n in au] == ["+61212344676"]
    assert pbx.normalize_number("(02) 1234 4676", "AU").value == "+61212344676"
