"""evaluate_groups: the coverage monitor's actions and its state across checks."""

from __future__ import annotations

import datetime as dt

import pytest

import pbx

NOW = dt.datetime(2026, 11, 23, 19, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Anchorage
EMPTY: list[pbx.GroupDict] = [{"id": "800", "name": "Support Queue", "kind": "queue", "members": []}]
AWAY: list[pbx.GroupDict] = [
    {"id": "800", "name": "Support Queue", "kind": "queue", "members": [{"extension": "103", "available": False}]}
]
STAFFED: list[pbx.GroupDict] = [
    {"id": "800", "name": "Support Queue", "kind": "queue", "members": [{"extension": "103", "name": "Carla", "available": True}]}
]


def test_an_alert_opens_after_the_debounce_and_resolves_when_staffed() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=2)
    state = pbx.MonitorState()
    assert pbx.evaluate_groups(monitor, EMPTY, state, NOW) == []
    actions = pbx.evaluate_groups(monitor, EMPTY, state, NOW)
    assert actions == [
        {
            "action": "open",
            "group_id": "800",
            "request": {
                "callGroupId": "800",
                "callGroupName": "Support Queue",
                "alertType": "NO_ASSIGNED_USERS",
                "alertMessage": "Support Queue has no assigned users during business hours",
            },
        }
    ]
    assert state.open_alerts == ["800"]
    assert pbx.evaluate_groups(monitor, AWAY, state, NOW) == []  # one alert per group
    state.record_alert_id("800", "7")
    resolved = pbx.evaluate_groups(monitor, STAFFED, state, NOW)
    assert [{k: v for k, v in a.items() if k != "alert"} for a in resolved] == [
        {"action": "resolve", "group_id": "800", "alert_type": "NO_ASSIGNED_USERS", "alert_id": "7", "reason": "staffed"}
    ]
    assert state.open_alerts == []


def test_state_survives_a_restart_as_json() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    state = pbx.MonitorState()
    assert pbx.evaluate_groups(monitor, AWAY, state, NOW)[0]["action"] == "open"
    restored = pbx.MonitorState.from_json(state.to_json())
    assert restored.open_alerts == ["800"]
    assert pbx.evaluate_groups(monitor, AWAY, restored, NOW) == []
    closed = pbx.GroupMonitor(pbx.BusinessHours.never("UTC"))
    [action] = pbx.evaluate_groups(closed, AWAY, restored, NOW)
    assert action["action"] == "resolve" and action["reason"] == "closed"
    with pytest.raises(ValueError, match="not a monitor state"):
        pbx.MonitorState.from_json("[]")


def test_active_alerts_are_adopted_not_posted_again() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    state = pbx.MonitorState()
    state.adopt_active(
        [{"id": 9, "callGroupId": "800", "callGroupName": "Support Queue", "alertType": "NO_ASSIGNED_USERS",
          "alertMessage": "m", "isActive": True}],
        NOW,
    )
    assert pbx.evaluate_groups(monitor, EMPTY, state, NOW) == []
    [action] = pbx.evaluate_groups(monitor, [], state, NOW)
    assert {k: v for k, v in action.items() if k != "alert"} == {"action": "resolve", "group_id": "800", "alert_type": "NO_ASSIGNED_USERS", "alert_id": "9", "reason": "gone"}


def test_the_sample_config_monitor(config: pbx.Config) -> None:
    monitor = pbx.GroupMonitor.from_config(config)
    state = pbx.MonitorState()
    groups: list[pbx.GroupDict] = [
        {"id": "900", "name": "Main Menu", "kind": "ring_group", "members": []},
        {"id": "700", "name": "Sales Team", "kind": "ring_group", "members": []},
    ]
    saturday = dt.datetime(2026, 11, 28, 19, 0, tzinfo=dt.timezone.utc)
    for _ in range(3):
        assert pbx.evaluate_groups(monitor, groups, state, saturday) == []  # closed
    pbx.evaluate_groups(monitor, groups, state, NOW)
    actions = pbx.evaluate_groups(monitor, groups, state, NOW)
    assert [a["group_id"] for a in actions] == ["700"]  # 900 is excluded


def test_bad_input() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"))
    state = pbx.MonitorState()
    with pytest.raises(ValueError, match="group_kind` = \"hunt\": expected one of queue, ring_group"):
        pbx.evaluate_groups(monitor, [{"id": "1", "name": "x", "kind": "hunt", "members": []}], state, NOW)  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="naive"):
        pbx.evaluate_groups(monitor, EMPTY, state, NOW.replace(tzinfo=None))


def test_only_the_groups_own_alert_is_recorded_for_an_open() -> None:
    monitor = pbx.GroupMonitor(pbx.BusinessHours.always("UTC"), debounce=1)
    state = pbx.MonitorState()
    [action] = pbx.evaluate_groups(monitor, AWAY, state, NOW)
    assert action["action"] == "open"
    request = action["request"]
    answer = {"id": 9, "callGroupId": "999", "callGroupName": "Other", "alertType": request["alertType"],
              "alertMessage": "m", "isActive": True}
    # Another group's alert: not recorded, the open undone (the next check posts again).
    assert state.record_opened(request, answer) is False
    assert state.open_alerts == []
    [again] = pbx.evaluate_groups(monitor, AWAY, state, NOW)
    assert again["action"] == "open"
    assert state.record_opened(again["request"], {**answer, "callGroupId": "800"}) is True
    assert state.open_alerts == ["800"]
    with pytest.raises(ValueError, match="not an alert"):
        state.record_opened(request, {"id": 1})
