"""BusinessHours: from the sample config and from XAPI OfficeHours; aware datetimes only."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

import pbx

AK = ZoneInfo("America/Anchorage")
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def hours(config: pbx.Config) -> pbx.BusinessHours:
    hours = pbx.BusinessHours.from_config(config)
    assert hours is not None
    return hours


def test_the_sample_config_schedule(hours: pbx.BusinessHours) -> None:
    assert hours.timezone == "America/Anchorage"
    monday = dt.datetime(2026, 11, 23, 10, 0, tzinfo=AK)
    assert hours.is_open(monday)
    assert not hours.is_open(monday.replace(hour=12, minute=30))  # the lunch gap
    assert not hours.is_open(monday.replace(hour=8, minute=59))
    assert not hours.is_open(dt.datetime(2026, 12, 25, 10, 0, tzinfo=AK))  # Christmas
    assert not hours.is_open(dt.datetime(2026, 12, 30, 10, 0, tzinfo=AK))  # a closure
    assert hours.is_open(dt.datetime(2026, 12, 19, 11, 0, tzinfo=AK))  # a Saturday opening


def test_any_zone_means_the_same_instant(hours: pbx.BusinessHours) -> None:
    local = dt.datetime(2026, 11, 23, 9, 0, tzinfo=AK)
    assert hours.is_open(local.astimezone(UTC)) == hours.is_open(local) is True
    fixed = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=0)))
    assert hours.is_open(fixed)


def test_next_change_is_an_aware_utc_datetime(hours: pbx.BusinessHours) -> None:
    change = hours.next_change(dt.datetime(2026, 11, 23, 10, 0, tzinfo=AK))
    assert change == (dt.datetime(2026, 11, 23, 21, 0, tzinfo=UTC), False)
    assert change is not None and change[0].tzinfo is not None
    assert pbx.BusinessHours.always("UTC").next_change(dt.datetime.now(UTC)) is None


def test_a_naive_datetime_is_a_clear_value_error(hours: pbx.BusinessHours) -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-11-23 10:00:00: pass an aware datetime"):
        hours.is_open(dt.datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError, match="naive"):
        hours.next_change(dt.datetime(2026, 11, 23, 10, 0))
    with pytest.raises(TypeError, match="expected a datetime.datetime"):
        hours.is_open(dt.date(2026, 11, 23))  # type: ignore[arg-type]


OFFICE_HOURS = {
    "TimeZoneId": "Eastern Standard Time",
    "Hours": {
        "Type": "OfficeHours",
        "Periods": [{"DayOfWeek": "Monday", "Start": "09:00:00", "Stop": "17:00:00"}],
    },
    "OfficeHolidays": [],
    "SomethingNew": 1,
}


def test_from_xapi_takes_a_dict_or_json_text() -> None:
    for arg in (OFFICE_HOURS, json.dumps(OFFICE_HOURS)):
        hours = pbx.BusinessHours.from_xapi(arg)
        assert hours.timezone == "America/New_York"
        assert hours.is_open(dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
        assert not hours.is_open(dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC))


def test_from_xapi_errors() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        pbx.BusinessHours.from_xapi("{")
    with pytest.raises(ValueError, match="not an XAPI OfficeHours object"):
        pbx.BusinessHours.from_xapi({"OfficeHolidays": 3})
    with pytest.raises(pbx.ConfigError) as info:
        pbx.BusinessHours.from_xapi({**OFFICE_HOURS, "TimeZoneId": "Atlantis Time"})
    assert info.value.issues[0][1] == "Atlantis Time"


def test_simple_schedules() -> None:
    weekdays = pbx.BusinessHours.weekdays("Europe/Berlin", "08:00-16:00")
    assert weekdays.is_open(dt.datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert not weekdays.is_open(dt.datetime(2026, 11, 22, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert not pbx.BusinessHours.never("UTC").is_open(dt.datetime.now(UTC))
    with pytest.raises(pbx.ConfigError):
        pbx.BusinessHours.weekdays("UTC", "25:00-26:00")


def test_from_config_without_a_schedule_is_none_as_in_node() -> None:
    text = "source: { kind: file, path: /tmp/cdr.log }\ncall_api: { base_url: 'http://localhost:8080' }\n"
    absent = pbx.Config.from_yaml(text)
    assert absent.business_hours_source is None
    assert pbx.BusinessHours.from_config(absent) is None
    xapi = pbx.Config.from_yaml(
        text
        + "business_hours: { from_xapi: true }\n"
        + "xapi: { base_url: 'https://pbx.example.com', client_id: c, client_secret: s }\n"
    )
    assert xapi.business_hours_source == "xapi"
    assert pbx.BusinessHours.from_config(xapi) is None
