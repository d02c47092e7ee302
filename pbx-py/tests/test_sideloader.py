"""`pbx.Sideloader`: the runtime `pbx-sideloader` runs, from Python.

The file scenario runs everywhere; the PostgreSQL site-table scenario every host runs (the
binary and the Rust API in examples/tests/runtime.rs, Node in
pbx-node/__test__/sideloader_pg.test.mjs) needs PBX_TEST_PG_URL (scripts/pg.sh) and psql:
skipped without it, failed without it under CI=true.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import pbx

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2345
PG_URL = os.environ.get("PBX_TEST_PG_URL", "")
if not PG_URL and os.environ.get("CI") == "true":
    raise RuntimeError("PBX_TEST_PG_URL is not set under CI=true: run through scripts/test.sh")
needs_pg = pytest.mark.skipif(not PG_URL, reason="PBX_TEST_PG_URL not set (run through scripts/pg.sh)")


def embedded_default(tmp: Path, sink: str | None = None) -> str:
    """The embedded default with its files in `tmp` (and calls to `sink`, when given)."""
    text = (ROOT / "examples" / "config" / "embedded-default.yml").read_text(encoding="utf-8")
    text = text.replace("examples/data/", str(ROOT / "examples" / "data") + "/")
    if sink is not None:
        text = text.replace("file:out/calls.jsonl", sink)
    return text.replace("out/", f"{tmp}/")


class CallApi:
    """A call-logger API double: 201 for a new pbxCallId, 409 for one it has (or always
    `status`); each answer `delay` seconds late."""

    def __init__(self, delay: float = 0.0, status: int | None = None) -> None:
        self.stored: dict[str, int] = {}
        self.posts = 0
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the sideloader reuses its connections

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if delay:
                    time.sleep(delay)
                with api.lock:
                    api.posts += 1
                    call_id = json.loads(body)["pbxCallId"]
                    known = call_id in api.stored
                    api.stored[call_id] = api.stored.get(call_id, -1) + 1
                code = status if status is not None else (409 if known else 201)
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # the sideloader opens call_api.concurrency connections

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[int]:
        return sorted(int(i.rsplit("-", 1)[1]) for i in self.stored)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[CallApi]:
    a = CallApi()
    yield a
    a.close()


def test_run_once_drains_the_sample_then_nothing(tmp_path: Path) -> None:
    config = pbx.Config.from_yaml(embedded_default(tmp_path), env={})
    first = pbx.Sideloader(config).run_once()
    assert first["delivered"] == 47
    assert first["skipped"] == {"internal": 9, "missed_unrouted": 6, "no_owner_email": 3}
    assert first["sink"] == f"{tmp_path}/calls.jsonl"
    assert first["text"] == (
        "47 delivered, 0 already delivered, 18 skipped (internal 9, missed_unrouted 6, no_owner_email 3), "
        f"0 quarantined; checkpoint {first['checkpoint']}; calls in {tmp_path}/calls.jsonl"
    )
    assert len((tmp_path / "calls.jsonl").read_text().splitlines()) == 47
    # A path works as a Config does; the checkpoint is the same file: nothing new.
    path = tmp_path / "config.yml"
    path.write_text(embedded_default(tmp_path))
    second = pbx.Sideloader(path).run_once()
    assert second["delivered"] + second["received"] == 0


def test_backfill_delivers_its_days_once_and_leaves_the_live_checkpoint(tmp_path: Path) -> None:
    config = pbx.Config.from_yaml(embedded_default(tmp_path), env={})
    s = pbx.Sideloader(config)
    # Days in pbx.timezone (AKST, UTC-9), both included.
    report = s.backfill("2026-11-05", "2026-11-09")
    assert (report["from"], report["to"]) == ("2026-11-05T09:00:00+00:00", "2026-11-10T09:00:00+00:00")
    # The file source hands on only the lines whose start is in the range (19 of the 65):
    # nothing is left for the engine to skip as outside_range.
    assert report["received"] == 19
    assert report["delivered"] > 5 and report["calls"] == report["delivered"]
    assert report["skipped"].get("outside_range", 0) == 0
    assert report["text"].startswith(
        f"backfill 2026-11-05T09:00:00+00:00 to 2026-11-10T09:00:00+00:00: {report['delivered']} delivered"
    )
    assert report["elapsed_secs"] >= 0
    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == report["delivered"]
    assert all("2026-11-05" <= c["timestamp"][:10] <= "2026-11-09" for c in calls), calls
    # Its own checkpoint: again, nothing is read or sent twice ...
    again = s.backfill("2026-11-05", "2026-11-09")
    assert (again["received"], again["delivered"]) == (0, 0)
    # ... and the live checkpoint did not move: a drain reads every record.
    drained = s.run_once()
    assert drained["received"] == 65
    assert drained["delivered"] + drained["duplicates"] == 47


def test_a_bad_backfill_range_raises_naming_the_bound(tmp_path: Path) -> None:
    s = pbx.Sideloader(pbx.Config.from_yaml(embedded_default(tmp_path), env={}))
    for (start, end), setting, words in [
        (("2026-13-01", "2026-11-09"), "from", "is not a date (YYYY-MM-DD) or an instant"),
        (("2026-11-09", "yesterday"), "to", "is not a date (YYYY-MM-DD) or an instant"),
        (("2026-11-09", "2026-11-05"), "to", "not after its start 2026-11-09T09:00:00+00:00"),
    ]:
        with pytest.raises(pbx.ConfigError) as info:
            s.backfill(start, end)
        assert info.value.kind == "invalid_setting"
        assert [i.path for i in info.value.issues] == [setting]
        assert words in str(info.value)
    with pytest.raises(TypeError, match="argument 'to'"):
        s.backfill("2026-11-05", 20261109)  # type: ignore[arg-type]
    # Nothing was started: the sideloader is still usable.
    assert s.run_once()["delivered"] == 47


def test_a_bad_configuration_lists_the_problems_the_binary_prints(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "pbx: { timezone: Mars/Olympus }\nsource: { kind: carrier_pigeon }\ncall_api: { base_url: ftp://x }\n"
    )
    with pytest.raises(pbx.ConfigError) as info:
        pbx.Sideloader(bad)
    issues = info.value.issues
    assert [i.path for i in issues] == ["pbx.timezone", "source.kind", "call_api.base_url"]
    binary = os.environ.get("PBX_SIDELOADER")
    if binary:
        run = subprocess.run([binary, "--config", str(bad), "--once"], capture_output=True, text=True)
        assert run.returncode == 2
        assert run.stderr.strip() == f"pbx-sideloader: {info.value}"
        for issue in issues:
            assert issue.path in run.stderr and issue.message in run.stderr


def test_a_sink_that_cannot_be_opened_fails_with_the_binarys_message(tmp_path: Path) -> None:
    # Runtime state, not configuration: the binary exits 1 (not 2) with the same line.
    (tmp_path / "a-file").write_text("")
    text = embedded_default(tmp_path, sink=f"file:{tmp_path}/a-file/calls.jsonl")
    with pytest.raises(pbx.PbxError) as info:
        pbx.Sideloader(pbx.Config.from_yaml(text, env={}))
    assert not isinstance(info.value, pbx.ConfigError)
    assert info.value.kind == "failed"
    assert str(info.value).startswith(f"cannot open the call file {tmp_path}/a-file/calls.jsonl: ")


def test_a_missing_configuration_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.yml"
    with pytest.raises(FileNotFoundError) as info:
        pbx.Sideloader(str(missing))
    assert info.value.filename == str(missing)
    assert str(missing) in str(info.value)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_configuration_file_is_refused_at_its_limit() -> None:
    # Read no further than pbx-sideloader --config reads: 1 MiB, not the whole "file".
    for load in (pbx.load_config, pbx.Config.load, pbx.Sideloader):
        with pytest.raises(OSError) as info:
            load("/dev/zero")
        assert "it is over the limit of 1048576 bytes" in str(info.value), info.value
        assert info.value.filename == "/dev/zero"


@pytest.mark.parametrize("run", ["run_once", "backfill"])
def test_ctrl_c_stops_a_run_gracefully_and_raises_keyboard_interrupt(tmp_path: Path, run: str) -> None:
    # Each answer takes 0.3 s, 4 in flight (call_api.concurrency): the whole drain takes about
    # 3.6 s. Ctrl-C after 0.5 s stops it once the calls in flight are answered, as
    # pbx-sideloader stops on SIGINT.
    slow = CallApi(delay=0.3)
    # Python's own Ctrl-C handler, as in a terminal (a shell's background job starts with
    # SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        config = pbx.Config.from_yaml(embedded_default(tmp_path, sink=slow.base_url), env={})
        s = pbx.Sideloader(config)

        def go() -> Mapping[str, object]:
            if run == "run_once":
                return s.run_once()
            return s.backfill("2026-11-01", "2026-11-30")

        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            go()
        elapsed = time.monotonic() - started
        timer.join()
        assert elapsed < 2.0, f"not prompt: {elapsed:.1f} s"
        first = len(slow.stored)
        assert 0 < first < 47, first
        # The checkpoint was saved at the last acknowledged call: the same run resumes, and
        # nothing is sent twice.
        rest = go()
        assert rest["delivered"] == 47 - first, rest
        assert len(slow.stored) == 47
    finally:
        signal.signal(signal.SIGINT, previous)
        slow.close()


def test_start_stop_and_status(tmp_path: Path, api: CallApi) -> None:
    config = pbx.Config.from_yaml(embedded_default(tmp_path, sink=api.base_url), env={})
    s = pbx.Sideloader(config)
    s.start()
    assert s.status()["running"] is True
    with pytest.raises(pbx.PbxError) as busy:
        s.run_once()
    assert busy.value.kind == "busy"
    deadline = time.monotonic() + 20
    while s.status()["delivered"] < 47:
        assert time.monotonic() < deadline, s.status()
        time.sleep(0.02)
    stopped = s.stop()
    assert stopped["running"] is False
    assert stopped["checkpoint"]
    assert len(api.stored) == 47 and api.posts == 47
    assert s.stop()["running"] is False  # not running: returns at once


def test_run_once_releases_the_gil(tmp_path: Path) -> None:
    slow = CallApi(delay=0.005)
    try:
        config = pbx.Config.from_yaml(embedded_default(tmp_path, sink=slow.base_url), env={})
        s = pbx.Sideloader(config)
        done = threading.Event()
        result: list[pbx.SideloaderSummary] = []

        def drain() -> None:
            result.append(s.run_once())
            done.set()

        worker = threading.Thread(target=drain)
        worker.start()
        spins = 0
        while not done.is_set():
            spins += 1
        worker.join()
        assert result[0]["delivered"] == 47
        # This thread ran all along: the drain did not hold the GIL.
        assert spins > 10_000, spins
    finally:
        slow.close()


def test_auth_failure_raises(tmp_path: Path) -> None:
    refusing = CallApi(status=401)
    try:
        config = pbx.Config.from_yaml(embedded_default(tmp_path, sink=refusing.base_url), env={})
        with pytest.raises(pbx.PbxError) as info:
            pbx.Sideloader(config).run_once()
        assert info.value.kind == "auth_failed"
        assert info.value.code == "PBX_SYNC_ERROR"
    finally:
        refusing.close()


def test_after_a_failed_run_once_or_start_stop_then_run_once_works(tmp_path: Path) -> None:
    config = pbx.Config.from_yaml(embedded_default(tmp_path), env={})
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_text("{ not json", encoding="utf-8")
    s = pbx.Sideloader(config)
    with pytest.raises(pbx.PbxError) as once:
        s.run_once()
    assert once.value.kind == "checkpoint"
    assert s.stop()["running"] is False
    # The service fails the same way; its task ends, stop() raises and frees the object.
    s.start()
    deadline = time.monotonic() + 20
    while s.status()["running"]:
        assert time.monotonic() < deadline, s.status()
        time.sleep(0.02)
    with pytest.raises(pbx.PbxError) as stopped:
        s.stop()
    assert stopped.value.kind == "checkpoint"
    assert s.stop()["running"] is False
    checkpoint.unlink()
    assert s.run_once()["delivered"] == 47


def test_the_ops_script_prints_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(embedded_default(tmp_path))
    script = ROOT / "examples" / "python" / "sideloader_once.py"
    run = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("pbx-sideloader: 47 delivered, 0 already delivered, 18 skipped")


def test_the_backfill_script_prints_the_binarys_line_and_exits_as_it_does(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(embedded_default(tmp_path))
    script = ROOT / "examples" / "python" / "backfill.py"

    def backfill(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), str(path), *args], capture_output=True, text=True)

    run = backfill("2026-11-05", "2026-11-09")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(
        "pbx-sideloader: backfill 2026-11-05T09:00:00+00:00 to 2026-11-10T09:00:00+00:00: "
    ), run.stdout
    bad = backfill("2026-11-09", "yesterday")
    assert bad.returncode == 2
    assert "invalid setting `to` = \"yesterday\"" in bad.stderr, bad.stderr


# --- The PostgreSQL site-table scenario ----------------------------------------------------

COLUMNS = [
    "id: id", "historyid: history_id", "duration: duration", "time-start: time_start",
    "time-answered: time_answered", "time-end: time_end", "reason-terminated: reason",
    "from-no: from_no", "to-no: to_no", "from-dn: from_dn", "to-dn: to_dn",
    "final-number: final_number", "final-dn: final_dn", "from-type: from_type",
    "to-type: to_type", "final-type: final_type",
]  # fmt: skip


def psql(sql: str) -> str:
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    out = subprocess.run(
        ["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture
def site_table() -> Iterator[str]:
    """The site table of examples/tests/common: ROWS outbound calls, historyid = id."""
    schema = f"py_site_{os.getpid()}"
    psql(f"""DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
        CREATE TABLE {schema}.cdr (
          id bigserial PRIMARY KEY, history_id text, duration integer,
          time_start timestamptz, time_answered timestamptz, time_end timestamptz,
          reason text, from_no text, to_no text, from_dn text, to_dn text,
          final_number text, final_dn text, from_type text, to_type text, final_type text);
        INSERT INTO {schema}.cdr (history_id, duration, time_start, time_answered, time_end,
          reason, from_no, to_no, from_dn, to_dn, final_number, final_dn, from_type, to_type, final_type)
        SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
          'Ext.101', '+1907555' || lpad((g % 10000)::text, 4, '0'), '101', '10000',
          '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
        FROM generate_series(1, {ROWS}) g,
          LATERAL (SELECT timestamptz '2026-11-02 18:00:00+00' + g * interval '1 s' AS t) x;""")
    yield schema
    psql(f"DROP SCHEMA {schema} CASCADE")


def site_config(tmp: Path, schema: str, base_url: str) -> pbx.Config:
    columns = "\n".join("    " + c for c in COLUMNS)
    return pbx.Config.from_yaml(
        f"""pbx: {{timezone: America/Anchorage}}
source:
  kind: postgres_table
  url: '{PG_URL}'
  table: {schema}.cdr
  columns:
{columns}
call_api: {{base_url: '{base_url}', timeout_secs: 5, concurrency: 16}}
extensions: {{default_email: 'pbx@example.com'}}
polling: {{interval_secs: 1, batch_size: 500}}
checkpoint: {{kind: postgres, url: '{PG_URL}', table: {schema}.pbx_checkpoint}}
quarantine: {{path: '{tmp}/quarantine.jsonl'}}
logging: {{level: error}}
""",
        env={},
    )


@needs_pg
def test_a_site_table_every_call_once_then_nothing(tmp_path: Path, site_table: str, api: CallApi) -> None:
    config = site_config(tmp_path, site_table, api.base_url)
    first = pbx.Sideloader(config).run_once()
    assert first["text"] == (
        f"{ROWS} delivered, 0 already delivered, 0 skipped (none), 0 quarantined; "
        f"checkpoint {ROWS}; calls in {api.base_url}"
    )
    assert api.ids() == list(range(1, ROWS + 1))
    assert api.posts == ROWS, "a call was posted twice"
    second = pbx.Sideloader(config).run_once()
    assert second["text"] == (
        f"0 delivered, 0 already delivered, 0 skipped (none), 0 quarantined; "
        f"checkpoint {ROWS}; calls in {api.base_url}"
    )
    assert api.posts == ROWS


@needs_pg
def test_stop_during_delivery_saves_the_checkpoint(tmp_path: Path, site_table: str) -> None:
    slow = CallApi(delay=0.005)
    try:
        config = site_config(tmp_path, site_table, slow.base_url)
        s = pbx.Sideloader(config)
        s.start()
        while s.status()["delivered"] < 200:
            time.sleep(0.01)
        stopped = s.stop()
        assert stopped["delivered"] < ROWS, "stopped too late to test anything"
        saved = int(psql(f"SELECT checkpoint FROM {site_table}.pbx_checkpoint WHERE source = 'cdr'"))
        assert saved == stopped["delivered"]
        assert slow.ids() == list(range(1, saved + 1))
        rest = pbx.Sideloader(config).run_once()
        assert rest["delivered"] == ROWS - saved
        assert slow.ids() == list(range(1, ROWS + 1))
        assert slow.posts == ROWS
    finally:
        slow.close()
