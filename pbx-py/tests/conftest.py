"""Shared fixtures: the sample data in examples/ (the same files the Rust tests read)."""

from __future__ import annotations

from pathlib import Path

import pytest

import pbx

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
CONFIG = ROOT / "examples" / "config" / "sideloader.yml"


@pytest.fixture(scope="session")
def sample_text() -> str:
    return (DATA / "cdr-sample.log").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def expected_rows() -> list[list[str]]:
    lines = (DATA / "cdr-sample.expected.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:5] == ["line", "direction", "owner", "counterpart", "talk_seconds"]
    return [line.split("\t") for line in lines[1:]]


@pytest.fixture(scope="session")
def extensions() -> pbx.ExtensionMap:
    text = (DATA / "extensions.yml").read_text(encoding="utf-8")
    return pbx.ExtensionMap.from_yaml(text, key="extensions")


@pytest.fixture(scope="session")
def config() -> pbx.Config:
    return pbx.Config.load(CONFIG, env={})
