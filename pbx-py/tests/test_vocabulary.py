"""The binding publishes pbx-core's vocabulary and nothing else: for every code the core
defines (`pbx.pbx._vocabulary()`, read from the core's `Vocabulary` lists), the binding accepts it
where it reads one, maps it to a specific exception class where it raises one, and `pbx.pyi`
documents it. A new core variant without its place here fails this test instead of reaching
users as a wrong or catch-all string."""

from __future__ import annotations

import datetime
import importlib
import pathlib
import re
from typing import Any

import pytest

import pbx

# The test hooks live on the native module (`pbx.pbx`), outside `__all__` and the stubs.
NATIVE: Any = importlib.import_module("pbx.pbx")
VOCABULARY: dict[str, list[str]] = NATIVE._vocabulary()
NOW = datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.timezone.utc)
STUBS = (pathlib.Path(__file__).parent.parent / "pbx.pyi").read_text()


def _literal(alias: str) -> set[str]:
    """The strings of `alias = Literal[...]` in pbx.pyi."""
    m = re.search(rf"^{alias} = Literal\[(.*?)\]", STUBS, re.S | re.M)
    assert m, f"pbx.pyi has no {alias} = Literal[...]"
    return set(re.findall(r'"([^"]+)"', m.group(1)))


def _field_literals(name: str) -> set[str]:
    """The strings of every `name: Literal[...]` in pbx.pyi."""
    found: set[str] = set()
    for m in re.finditer(rf"\b{name}: Literal\[(.*?)\]", STUBS, re.S):
        found |= set(re.findall(r'"([^"]+)"', m.group(1)))
    return found


def test_the_core_lists_every_vocabulary() -> None:
    assert set(VOCABULARY) == {
        "alert_action",
        "call_direction",
        "direction",
        "direction_rule",
        "error_category",
        "error_kind",
        "group_kind",
        "hours_state",
        "internal_calls",
        "invalid_reason",
        "number_format",
        "resolve_reason",
        "sideloader_error_kind",
        "skip_reason",
        "source.kind",
    }
    assert all(VOCABULARY.values())


@pytest.mark.parametrize(
    "vocabulary,alias",
    [
        ("skip_reason", "SkipCode"),
        ("direction_rule", "RuleCode"),
        ("direction", "Direction"),
        ("call_direction", "CallDirection"),
        ("number_format", "NumberFormat"),
        ("source.kind", "SourceKind"),
        ("hours_state", "HoursReason"),
        ("sideloader_error_kind", "SideloaderErrorKind"),
    ],
)
def test_the_stubs_list_exactly_the_core_codes(vocabulary: str, alias: str) -> None:
    assert _literal(alias) == set(VOCABULARY[vocabulary])


def test_the_stubs_list_every_group_kind_resolve_reason_and_action() -> None:
    assert set(VOCABULARY["group_kind"]) <= _field_literals("kind")
    assert set(VOCABULARY["resolve_reason"]) == _field_literals("reason")
    assert set(VOCABULARY["alert_action"]) == _field_literals("action")
    assert set(VOCABULARY["internal_calls"]) == _field_literals("internal_calls")


# The categories only the sideloader's errors carry (never a pbx-core error): `PbxError` with
# that `code`, as `Sideloader` raises them.
SIDELOADER_ONLY = {"PBX_SYNC_ERROR", "PBX_INVALID_STATE"}


@pytest.mark.parametrize("code", VOCABULARY["error_category"])
def test_every_error_category_has_its_own_exception_class(code: str) -> None:
    cls = NATIVE._error_class(code)
    if code in SIDELOADER_ONLY:
        assert cls is pbx.PbxError
    else:
        assert cls in (pbx.ParseError, pbx.ConfigError), f"{code} would raise the bare {cls.__name__}"


@pytest.mark.parametrize("code", VOCABULARY["internal_calls"])
def test_every_internal_calls_code_is_accepted(code: str) -> None:
    assert f"internal_calls='{code}'" in repr(pbx.CallMapper(internal_calls=code))  # type: ignore[arg-type]


@pytest.mark.parametrize("code", VOCABULARY["number_format"])
def test_every_number_format_is_accepted(code: str) -> None:
    assert f"number_format='{code}'" in repr(pbx.CallMapper(number_format=code))  # type: ignore[arg-type]


@pytest.mark.parametrize("code", VOCABULARY["group_kind"])
def test_every_group_kind_is_accepted(code: str) -> None:
    api: Any = pbx  # codes as plain str, and a wrong one on purpose
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    state = pbx.MonitorState()
    group = {"id": "800", "name": "Support", "kind": code, "members": []}
    [action] = api.evaluate_groups(monitor, [group], state, NOW)
    assert action["action"] in VOCABULARY["alert_action"]
    with pytest.raises(ValueError, match="expected one of queue, ring_group"):
        api.evaluate_groups(monitor, [{**group, "kind": "hunt_group"}], state, NOW)


def test_actions_and_resolve_reasons_are_core_codes() -> None:
    open_hours = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    closed = pbx.GroupMonitor(pbx.BusinessHours.never("UTC"), debounce=1)
    state = pbx.MonitorState()
    group: pbx.GroupDict = {"id": "800", "name": "Support", "kind": "queue", "members": []}
    [opened] = pbx.evaluate_groups(open_hours, [group], state, NOW)
    assert opened["action"] == "open"
    [resolved] = pbx.evaluate_groups(closed, [group], state, NOW)
    assert resolved["action"] == "resolve"
    assert resolved["reason"] == "closed"
    assert resolved["reason"] in VOCABULARY["resolve_reason"]
