"""Config.load / from_yaml: the sample file, variables, every problem with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

import pbx
from conftest import CONFIG

MINIMAL = "source: { kind: file, path: /tmp/cdr.log }\ncall_api: { base_url: 'http://localhost:8080', token: '${TOKEN}' }\n"


def test_the_sample_config(config: pbx.Config) -> None:
    assert config.timezone == "America/Anchorage"
    assert config.cdr_template.split(",")[:3] == ["historyid", "callid", "duration"]
    assert len(config.cdr_template.split(",")) == 27
    assert config.default_region == "US"
    assert config.internal_calls == "skip"
    assert config.trunk_dns == ["10000"]
    assert config.service_dns == ["700", "800", "900", "999"]
    assert config.groups_enabled
    ext = config.extensions
    assert len(ext) == 2 and "101" in ext and "103" not in ext
    user = ext.get("101")
    assert user is not None and (user.email, user.name) == ("anna.berg@example.com", "Anna Berg")
    assert ext.email_for("102") == "bob.smith@example.com"


def test_variables_come_from_env_and_secrets_stay_hidden() -> None:
    config = pbx.Config.from_yaml(MINIMAL + "pbx: { timezone: '${TZ_NAME:-UTC}' }\n", env={"TOKEN": "s3cret", "TZ_NAME": "Europe/Berlin"})
    assert config.timezone == "Europe/Berlin"
    assert "s3cret" not in repr(config)
    assert pbx.Config.from_yaml(MINIMAL + "pbx: { timezone: '${TZ_NAME:-UTC}' }\n", env={"TOKEN": "t"}).timezone == "UTC"


def test_every_problem_is_reported_with_its_path() -> None:
    text = MINIMAL + """
pbx: { timezone: Mars/Olympus }
business_hours:
  monday: ["09:00-12:00", "25:00-26:00"]
direction: { internal_calls: sometimes, trunk_dnz: [] }
"""
    with pytest.raises(pbx.ConfigError) as info:
        pbx.Config.from_yaml(text, env={})
    e = info.value
    assert isinstance(e, pbx.PbxError)
    assert e.kind == "invalid_config"
    paths = [path for path, _, _ in e.issues]
    assert set(paths) >= {
        "call_api.token",
        "pbx.timezone",
        "business_hours.monday[1]",
        "direction.internal_calls",
        "direction.trunk_dnz",
    }
    by_path = {path: (value, message) for path, value, message in e.issues}
    assert by_path["pbx.timezone"][0] == "Mars/Olympus"
    assert by_path["business_hours.monday[1]"][0] == "25:00-26:00"
    assert str(e).startswith(f"invalid configuration ({len(e.issues)} problems):\n")
    for path in paths:
        assert path in str(e)


def test_unreadable_files_raise_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        pbx.Config.load(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("source: [1, 2\n", encoding="utf-8")
    with pytest.raises(pbx.ConfigError) as info:
        pbx.Config.load(str(bad))
    assert info.value.issues[0][0] == ""


def test_load_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALL_API_URL", "https://calls.example.com")
    assert pbx.Config.load(CONFIG).timezone == "America/Anchorage"


def test_env_and_maps_may_be_any_mapping() -> None:
    import os
    from types import MappingProxyType

    os.environ["PBX_PY_TEST_TOKEN"] = "t"
    try:
        text = MINIMAL.replace("${TOKEN}", "${PBX_PY_TEST_TOKEN}")
        assert pbx.Config.from_yaml(text, env=os.environ).timezone == "UTC"
    finally:
        del os.environ["PBX_PY_TEST_TOKEN"]
    assert pbx.Config.from_yaml(MINIMAL, env=MappingProxyType({"TOKEN": "t"})).timezone == "UTC"
    ext = pbx.ExtensionMap(MappingProxyType({"101": MappingProxyType({"email": "a@example.com"})}))
    assert ext.email_for("101") == "a@example.com"
    with pytest.raises(TypeError):
        pbx.ExtensionMap({"101": object()})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="an extension map maps an extension"):
        pbx.ExtensionMap({"101": {"name": "no email"}})


def test_load_config_is_config_load_and_errors_carry_the_node_codes(tmp_path: Path) -> None:
    assert pbx.load_config(CONFIG, env={}).timezone == pbx.Config.load(CONFIG, env={}).timezone
    bad = tmp_path / "bad.yml"
    bad.write_text("source: { kind: file, path: x }\ncall_api: { base_url: 'ftp://x' }\nbogus: 1\n", encoding="utf-8")
    with pytest.raises(pbx.ConfigError) as info:
        pbx.load_config(bad, env={})
    e = info.value
    assert (e.code, e.kind) == ("PBX_CONFIG_ERROR", "invalid_config")
    issue = next(i for i in e.issues if i.path == "bogus")
    assert isinstance(issue, pbx.ConfigIssue) and isinstance(issue, tuple)
    assert (issue.value, issue.message) == (issue[1], issue[2])
    with pytest.raises(pbx.ConfigError) as info:
        pbx.CallMapper(timezone="Mars/Olympus")
    assert info.value.code == "PBX_INVALID_ARGUMENT"
    with pytest.raises(pbx.ParseError) as parse:
        pbx.CdrParser("historyid,duration").parse_line("Call 1,bad")
    assert (parse.value.code, parse.value.kind) == ("PBX_PARSE_ERROR", "invalid_value")
    assert issubclass(pbx.ParseError, pbx.PbxError) and issubclass(pbx.ConfigError, pbx.PbxError)


def test_issue_values_of_secret_settings_are_redacted() -> None:
    text = (
        "source: { kind: postgres_cl, url: 'postgres://user:RealPassw0rd@${DB_HOST}/db' }\n"
        "call_api: { base_url: 'http://x', token: 'RealT0ken-${TENANT}' }\n"
        "http: { token: 'Tr1gger${' }\n"
    )
    with pytest.raises(pbx.ConfigError) as info:
        pbx.Config.from_yaml(text, env={})
    by_path = {i.path: i for i in info.value.issues}
    assert by_path["source.url"].value == "postgres://***@${DB_HOST}/db"
    assert by_path["call_api.token"].value == "***"
    assert by_path["http.token"].value == "***"
    shown = str(info.value) + repr(info.value.issues)
    for secret in ("RealPassw0rd", "RealT0ken", "Tr1gger"):
        assert secret not in shown
