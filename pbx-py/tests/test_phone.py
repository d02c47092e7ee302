"""normalize_number / normalize_numbers."""

from __future__ import annotations

import pytest

import pbx


def test_kinds() -> None:
    n = pbx.normalize_number("(907) 555-1234")
    assert (n.kind, n.value, n.extension, n.raw, n.reason) == ("e164", "+19075551234", None, None, None)
    assert pbx.normalize_number("Ext.101").kind == "internal"
    assert pbx.normalize_number("Ext.101").value == "101"
    assert pbx.normalize_number("anonymous").kind == "anonymous"
    assert pbx.normalize_number("anonymous").value is None
    bad = pbx.normalize_number("EndCall")
    assert (bad.kind, bad.raw, bad.reason) == ("invalid", "EndCall", "not_a_party")
    withext = pbx.normalize_number("907-555-1234 ext. 1234")
    assert (withext.value, withext.extension) == ("+19075551234", "1234")
    assert pbx.normalize_number("sip:+442079460018@carrier;user=phone").value == "+442079460018"


def test_the_default_region() -> None:
    assert pbx.normalize_number("030 1234567", default_region="DE").value == "+49301234567"
    with pytest.raises(pbx.ConfigError) as info:
        pbx.normalize_number("1", default_region="XX")
    assert info.value.issues[0][:2] == ("default_region", "XX")


def test_a_batch_equals_one_by_one(expected_rows: list[list[str]]) -> None:
    raws = [row[3] for row in expected_rows] + ["", "12", "+46 8 123 456 78", "Ext.7", "anonymous"]
    batch = pbx.normalize_numbers(raws, "US", detailed=True)
    assert batch == [pbx.normalize_number(r, "US") for r in raws]
    assert len(batch) == len(raws)
    # The bulk form: the value only (None for withheld and invalid numbers).
    compact = pbx.normalize_numbers(raws, "US")
    assert compact == [pbx.normalize_number(r, "US").value for r in raws]
    assert compact[-5:] == [None, "12", "+46812345678", "7", None]  # 12: a short extension
    assert pbx.normalize_numbers(tuple(raws), "US") == compact


def test_kind_and_reason_are_interned() -> None:
    a, b = pbx.normalize_numbers(["EndCall", "PickupExt.12"], "US", detailed=True)
    assert a.kind is b.kind and a.reason is b.reason and a.reason == "not_a_party"


def test_batch_items_must_be_str() -> None:
    with pytest.raises(TypeError, match="expected str items"):
        pbx.normalize_numbers(["9075551234", 9075551234])  # type: ignore[list-item]


def test_a_str_is_not_a_batch() -> None:
    with pytest.raises(TypeError):
        pbx.normalize_numbers("9075551234")
