"""What the Python package has because the Node package has it (scripts/parity.py checks the
names; these check the values): Config's settings and secrets, ExtensionMap.from_config/set,
BusinessHours.from_config_group/state, GroupMonitor.evaluate, Cdr.to_line and
Classification.explanation. pbx-node/__test__/parity.test.mjs asserts the same values."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import pbx
from conftest import CONFIG

from test_groups import AWAY, NOW

LINE = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,"
AK = ZoneInfo("America/Anchorage")
ENV = {"CALL_API_TOKEN": "t0k3n", "XAPI_CLIENT_SECRET": "s3cret"}


def test_config_settings_as_node_has_them() -> None:
    config = pbx.Config.load(CONFIG, env=ENV)
    assert config.call_api == {
        "base_url": "http://localhost:8080",
        "has_token": True,
        "timeout_secs": 10.0,
        "concurrency": 4,
        "max_attempts": 5,
        "insecure_skip_tls_verify": False,
    }
    assert config.xapi == {
        "base_url": "https://pbx.example.com",
        "client_id": "sideloader",
        "refresh_secs": 300.0,
        "insecure_skip_tls_verify": False,
    }
    assert config.extensions_from_xapi
    direction = config.direction
    assert direction["trunk_dns"] == config.trunk_dns == ["10000"]
    assert direction["service_dns"] == config.service_dns
    assert direction["extension_digits"] == (2, 5)
    assert direction["extension_ranges"] == [(100, 199)]
    assert direction["min_external_digits"] == 7
    assert config.business_hours_source == "schedule"
    assert config.groups == {
        "enabled": True,
        "interval_secs": 300.0,
        "debounce": 2,
        "include": [],
        "exclude": ["900"],
        "groups_with_own_hours": ["800"],
    }
    assert config.groups["enabled"] == config.groups_enabled
    assert config.poll_interval_secs > 0 and config.batch_size > 0
    assert config.quarantine_path
    assert config.http_listen == "127.0.0.1:8081"
    assert (config.log_level, config.log_format) == ("info", "text")


def test_secrets_come_from_methods_only() -> None:
    config = pbx.Config.load(CONFIG, env=ENV)
    assert config.call_api_token() == "t0k3n"
    assert config.xapi_client_secret() == "s3cret"
    shown = repr(config) + repr(config.call_api) + repr(config.xapi)
    assert "t0k3n" not in shown and "s3cret" not in shown
    minimal = pbx.Config.from_yaml(
        "source: {kind: file, path: /tmp/cdr.log}\ncall_api: {base_url: 'http://localhost:8080'}\n"
        "business_hours: {from_xapi: true}\nxapi: {base_url: 'https://pbx', client_id: c, client_secret: s}\n"
        "logging: {format: json, level: debug}\n"
    )
    assert minimal.call_api_token() is None and not minimal.call_api["has_token"]
    assert minimal.business_hours_source == "xapi"
    assert (minimal.log_level, minimal.log_format) == ("debug", "json")
    no_xapi = pbx.Config.from_yaml("source: {kind: file, path: /tmp/cdr.log}\ncall_api: {base_url: 'http://x:1'}\n")
    assert no_xapi.xapi is None and no_xapi.xapi_client_secret() is None
    assert no_xapi.business_hours_source is None


def test_extension_map_from_config_and_set(config: pbx.Config) -> None:
    ext = pbx.ExtensionMap.from_config(config)
    assert len(ext) == len(config.extensions) == 2
    ext.set("103", "carla@example.com", "Carla")
    ext.set("102", "bob@example.org")
    assert len(ext) == 3
    carla = ext.get("103")
    assert carla is not None and (carla.email, carla.name) == ("carla@example.com", "Carla")
    assert ext.email_for("102") == "bob@example.org"
    assert len(config.extensions) == 2, "the configuration's map is a copy"
    with pytest.raises(ValueError, match="no top-level key"):
        pbx.ExtensionMap.from_yaml("users: {}\n", key="extensions")


def test_business_hours_of_a_group_and_state(config: pbx.Config) -> None:
    own = pbx.BusinessHours.from_config_group(config, "800")
    assert own is not None
    assert pbx.BusinessHours.from_config_group(config, "700") is None
    monday_7_30 = dt.datetime(2026, 11, 23, 7, 30, tzinfo=AK)
    assert own.is_open(monday_7_30)
    assert own.state(monday_7_30) == {"open": True, "reason": "interval", "name": None}
    hours = pbx.BusinessHours.from_config(config)
    assert hours is not None
    assert hours.state(monday_7_30) == {"open": False, "reason": "outside_hours", "name": None}
    christmas = dt.datetime(2026, 12, 25, 12, tzinfo=AK)
    assert hours.state(christmas) == {"open": False, "reason": "holiday", "name": "Christmas"}
    with pytest.raises(ValueError):
        hours.state(dt.datetime(2026, 12, 25, 12))


def test_group_monitor_evaluate_is_evaluate_groups() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    by_method, by_function = pbx.MonitorState(), pbx.MonitorState()
    actions = monitor.evaluate(AWAY, by_method, NOW)
    assert actions == pbx.evaluate_groups(monitor, AWAY, by_function, NOW)
    assert [a["action"] for a in actions] == ["open"]
    assert by_method.open_alerts == by_function.open_alerts == ["800"]


def test_cdr_to_line_round_trips_and_classification_explains() -> None:
    parser = pbx.CdrParser("27")
    cdr = parser.parse_line(LINE)
    assert parser.parse_line(cdr.to_line()) == cdr
    assert cdr.to_line("27") == cdr.to_line()
    twenty = cdr.to_line("20")
    assert pbx.CdrParser("20").parse_line(twenty).history_id == cdr.history_id
    with pytest.raises(pbx.ConfigError):
        cdr.to_line("historyid,nonsense")
    c = pbx.classify(cdr, pbx.CallMapper(trunk_dns=["10000"]))
    assert c.explanation == c.rule and c.explanation
    assert c.rule_code == "FROM_TYPE_EXTERNAL"


def test_a_failed_resolve_is_tried_again() -> None:
    always = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    state = pbx.MonitorState()
    assert [a["action"] for a in always.evaluate(AWAY, state, NOW)] == ["open"]
    state.record_alert_id("800", "7")
    closed = pbx.GroupMonitor(pbx.BusinessHours.never("UTC"))
    [action] = closed.evaluate(AWAY, state, NOW)
    assert action["action"] == "resolve"
    assert state.open_alerts == []
    alert = action["alert"]
    state.resolve_failed("800", alert)
    assert state.open_alerts == ["800"]
    [again] = closed.evaluate(AWAY, state, NOW)
    assert again == action
    with pytest.raises(ValueError, match="not an alert"):
        state.resolve_failed("800", {"alert_type": 1})
