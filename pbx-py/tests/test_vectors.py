"""The shared test vectors (tests/vectors/core.json), read by the Rust and Node tests too."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

import pbx
from conftest import ROOT

VECTORS: dict[str, Any] = json.loads((ROOT / "tests" / "vectors" / "core.json").read_text(encoding="utf-8"))
BASE: str = VECTORS["config_base"]


def ids(cases: list[dict[str, Any]], key: str = "name") -> list[str]:
    return [str(c[key]) for c in cases]


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(t: datetime.datetime) -> str:
    return t.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def mapper(extra: str) -> pbx.CallMapper:
    return pbx.CallMapper.from_config(pbx.Config.from_yaml(BASE + extra, env={}))


def parse(case: dict[str, Any]) -> pbx.Cdr:
    return pbx.CdrParser(case["template"]).parse_line(case["text"], line=case.get("line_no", 1))


def error_dict(e: pbx.ParseError) -> dict[str, object]:
    return {"kind": e.kind, "line": e.line, "field": e.field, "value": e.value, "message": str(e)}


LISTS = ("phone", "cdr", "direction", "calls", "hours", "config_errors", "templates")


@pytest.mark.parametrize("key", LISTS)
def test_every_vector_list_has_cases(key: str) -> None:
    # An empty list would let its parametrized test pass without checking anything.
    assert isinstance(VECTORS[key], list) and VECTORS[key], f"tests/vectors/core.json: {key} is empty"


@pytest.mark.parametrize("case", VECTORS["phone"], ids=ids(VECTORS["phone"], "raw"))
def test_phone(case: dict[str, Any]) -> None:
    n = pbx.normalize_number(case["raw"], case["region"])
    got = {k: getattr(n, k) for k in ("kind", "value", "extension", "raw", "reason") if getattr(n, k) is not None}
    assert got == case["expect"]


def test_phone_batch() -> None:
    # One crossing per region; element i is normalize_number(raws[i]).
    for region in {c["region"] for c in VECTORS["phone"]}:
        batch = [c for c in VECTORS["phone"] if c["region"] == region]
        got = pbx.normalize_numbers([c["raw"] for c in batch], region, detailed=True)
        assert got == [pbx.normalize_number(c["raw"], region) for c in batch]
        compact = pbx.normalize_numbers([c["raw"] for c in batch], region)
        assert compact == [c["expect"].get("value") for c in batch]


@pytest.mark.parametrize("case", VECTORS["cdr"], ids=ids(VECTORS["cdr"]))
def test_cdr(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(pbx.ParseError) as info:
            parse(case)
        assert error_dict(info.value) == expect["error"]
        # In a batch the error is returned in place, with the same data (element 0 is line 1).
        [batch] = pbx.CdrParser(case["template"]).parse_lines([case["text"]])
        assert isinstance(batch, pbx.ParseError)
        want = {k: v for k, v in expect["error"].items() if k not in ("line", "message")}
        assert {k: v for k, v in error_dict(batch).items() if k in want} == want
        assert batch.line == 1
        return
    cdr = parse(case)
    for key, want in expect["fields"].items():
        got = getattr(cdr, key)
        if isinstance(got, datetime.datetime):
            got = iso(got)
        assert got == want, key


@pytest.mark.parametrize("case", VECTORS["direction"], ids=ids(VECTORS["direction"]))
def test_direction(case: dict[str, Any]) -> None:
    c = pbx.classify(parse(case), mapper(case["config"]))
    got = {"direction": c.direction, "rule": c.rule_code, "owner": c.owner, "counterpart": c.counterpart}
    assert got == case["expect"]


@pytest.mark.parametrize("case", VECTORS["calls"], ids=ids(VECTORS["calls"]))
def test_call(case: dict[str, Any]) -> None:
    cdr = parse(case)
    m = mapper(case["config"])
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(pbx.ParseError) as info:
            pbx.to_call_request(cdr, m)
        assert error_dict(info.value) == expect["error"]
        return
    got = pbx.to_call_request(cdr, m)
    if isinstance(got, pbx.Skip):
        assert {"skip": {"reason": got.reason, "extension": got.extension, "message": got.message}} == expect
    else:
        assert {"call": got} == expect
        assert json.dumps(got) == json.dumps(expect["call"])  # the API's field order too
    # The batch path gives the same outcome.
    [(line, batch)] = pbx.map_lines(pbx.CdrParser(case["template"]), [case["text"]], m)
    assert line == 1
    assert batch == got


@pytest.mark.parametrize("case", VECTORS["hours"], ids=ids(VECTORS["hours"]))
def test_hours(case: dict[str, Any]) -> None:
    if "xapi" in case:
        hours = pbx.BusinessHours.from_xapi(case["xapi"])
        assert pbx.BusinessHours.from_xapi(json.dumps(case["xapi"])).timezone == hours.timezone
    else:
        schedule = pbx.BusinessHours.from_config(pbx.Config.from_yaml(BASE + case["config"], env={}))
        assert schedule is not None, case
        hours = schedule
    for q in case["queries"]:
        at = utc(q["at"])
        change = hours.next_change(at)
        got = {
            "at": q["at"],
            "is_open": hours.is_open(at),
            "next_change": None if change is None else {"at": iso(change[0]), "opens": change[1]},
        }
        assert got == q
        # The same instant in another zone is the same query.
        assert hours.is_open(at.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))) == q["is_open"]


@pytest.mark.parametrize("case", VECTORS["config_errors"], ids=ids(VECTORS["config_errors"]))
def test_config_errors(case: dict[str, Any]) -> None:
    with pytest.raises(pbx.ConfigError) as info:
        pbx.Config.from_yaml(BASE + case["yaml"], env=case["env"])
    e = info.value
    assert (e.code, e.kind) == ("PBX_CONFIG_ERROR", "invalid_config")
    assert [i._asdict() for i in e.issues] == case["issues"]


@pytest.mark.parametrize("case", VECTORS["templates"], ids=ids(VECTORS["templates"]))
def test_templates(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "error" in expect:
        # Refused by the parser's constructor, once, before any line is read.
        with pytest.raises(pbx.ConfigError) as info:
            pbx.CdrParser(case["template"])
        e = info.value
        assert {"code": e.code, "kind": e.kind, "message": str(e)} == expect["error"]
        return
    assert pbx.CdrParser(case["template"]).fields == expect["fields"]
