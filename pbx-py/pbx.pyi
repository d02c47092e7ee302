"""pbx: turn 3CX phone-system call records into call-log API requests.

Type stubs of the native module (written by hand; `mypy.stubtest pbx` checks them against the
built module in scripts/test.sh). Every function converts types and errors and calls the Rust
core; messages are the Rust ones.
"""

import datetime
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypedDict, final, overload

from typing_extensions import NotRequired

__all__ = [
    "__version__",
    "PbxError",
    "ParseError",
    "ConfigError",
    "ConfigIssue",
    "Cdr",
    "CdrParser",
    "Classification",
    "CallMapper",
    "MappingConfig",
    "Skip",
    "ExtensionMap",
    "User",
    "Config",
    "BusinessHours",
    "GroupMonitor",
    "MonitorState",
    "NormalizedNumber",
    "template_fields",
    "normalize_number",
    "normalize_numbers",
    "classify",
    "to_call_request",
    "map_lines",
    "map_lines_json",
    "evaluate_groups",
    "load_config",
    "Sideloader",
]

__version__: str

# --- Errors ------------------------------------------------------------------------------

class PbxError(Exception):
    """Base class of every error pbx raises. `kind` names the error (e.g. `invalid_value`);
    `code` is the stable code the Node binding's errors carry too (e.g. `PBX_PARSE_ERROR`)."""

    kind: str
    code: str

class ParseError(PbxError):
    """A CDR record cannot be read. `line`, `field` and `value` say where and what."""

    line: int | None
    field: str | None
    value: str | None

class ConfigIssue(NamedTuple):
    """One problem of a configuration."""

    path: str
    value: str | None
    message: str

class ConfigError(PbxError):
    """A configuration or setting is unusable: `issues` lists every problem as a
    `ConfigIssue(path, value or None, message)`."""

    issues: list[ConfigIssue]

# --- Shapes of dicts ---------------------------------------------------------------------

CallDirection = Literal["INBOUND", "OUTBOUND"]
Direction = Literal["INBOUND", "OUTBOUND", "INTERNAL", "UNKNOWN"]
NumberKind = Literal["e164", "internal", "anonymous", "invalid"]
NumberFormat = Literal["e164", "international", "national", "rfc3966"]
SourceKind = Literal[
    "postgres_cdroutput",
    "postgres_cl",
    "postgres_table",
    "mssql_table",
    "socket_listen",
    "socket_connect",
    "file",
    "directory",
]
RuleCode = Literal[
    "FROM_TYPE_EXTERNAL",
    "TO_TYPE_EXTERNAL",
    "INTERNAL_TYPES",
    "FROM_TRUNK_DN",
    "TO_TRUNK_DN",
    "EXTERNAL_CALLER_NUMBER",
    "EXTERNAL_CALLEE_NUMBER",
    "INTERNAL_NUMBERS",
    "UNDETERMINED",
]

class CallRequest(TypedDict):
    """The call API's `PbxCallRequest`, exactly as its JSON."""

    phoneNumber: str
    callDuration: int
    callOwnerExtension: str
    callOwnerEmail: str
    callDirection: CallDirection
    timestamp: str
    pbxCallId: str

class AlertRequest(TypedDict):
    """The body of `POST /api/alerts/call-groups`."""

    callGroupId: str
    callGroupName: str
    alertType: str
    alertMessage: str

class GroupMemberDict(TypedDict):
    extension: str
    name: NotRequired[str | None]
    available: bool

class GroupDict(TypedDict):
    """A call group as `evaluate_groups` reads it."""

    id: str
    name: str
    kind: Literal["queue", "ring_group"]
    members: Sequence[GroupMemberDict]

class OpenAction(TypedDict):
    action: Literal["open"]
    group_id: str
    request: AlertRequest

class ResolveAction(TypedDict):
    action: Literal["resolve"]
    group_id: str
    alert_type: str
    alert_id: str | None
    reason: Literal["staffed", "closed", "excluded", "gone"]
    alert: dict[str, object]

AlertAction = OpenAction | ResolveAction

# --- Phone numbers -----------------------------------------------------------------------

@final
class NormalizedNumber:
    """A normalized phone number: `kind`, `value` (E.164 number or extension), `extension`
    (after an external number), and for an invalid one `raw` and `reason`."""

    @property
    def kind(self) -> NumberKind: ...
    @property
    def value(self) -> str | None: ...
    @property
    def extension(self) -> str | None: ...
    @property
    def raw(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    def __eq__(self, other: object, /) -> bool: ...

def normalize_number(raw: str, default_region: str = "US") -> NormalizedNumber:
    """Normalizes one number to E.164 with a default region. Raises `ConfigError` for an
    unknown region."""

@overload
def normalize_numbers(
    raws: Sequence[str], default_region: str = "US", *, detailed: Literal[False] = False
) -> list[str | None]:
    """Normalizes many numbers in one call, without holding the GIL while working. The bulk
    form (default): element `i` is `normalize_number(raws[i]).value` (the E.164 number or the
    extension; None for a withheld or invalid number). `detailed=True`: the `NormalizedNumber`s."""
@overload
def normalize_numbers(
    raws: Sequence[str], default_region: str = "US", *, detailed: Literal[True]
) -> list[NormalizedNumber]: ...


# --- CDR records -------------------------------------------------------------------------

def template_fields(template: str = "27") -> list[str]:
    """The field names of a CDR template (`"20"`, `"27"` or a comma list)."""

@final
class Cdr:
    """One parsed 3CX call record. Every field is optional (None when empty or not in the
    template). Times are aware UTC datetimes; `duration` is the talk time as a timedelta (None:
    unanswered); number fields are as 3CX wrote them (`Ext.101`, `+19075551234`); reasons and
    types are their 3CX names. `line` is the line it was read from."""

    @property
    def line(self) -> int | None: ...
    @property
    def history_id(self) -> str | None: ...
    @property
    def call_id(self) -> str | None: ...
    @property
    def duration(self) -> datetime.timedelta | None: ...
    @property
    def time_start(self) -> datetime.datetime | None: ...
    @property
    def time_answered(self) -> datetime.datetime | None: ...
    @property
    def time_end(self) -> datetime.datetime | None: ...
    @property
    def reason_terminated(self) -> str | None: ...
    @property
    def from_no(self) -> str | None: ...
    @property
    def to_no(self) -> str | None: ...
    @property
    def from_dn(self) -> str | None: ...
    @property
    def to_dn(self) -> str | None: ...
    @property
    def dial_no(self) -> str | None: ...
    @property
    def reason_changed(self) -> str | None: ...
    @property
    def final_number(self) -> str | None: ...
    @property
    def final_dn(self) -> str | None: ...
    @property
    def bill_code(self) -> str | None: ...
    @property
    def bill_rate(self) -> str | None: ...
    @property
    def bill_cost(self) -> str | None: ...
    @property
    def bill_name(self) -> str | None: ...
    @property
    def chain(self) -> list[str]: ...
    @property
    def from_type(self) -> str | None: ...
    @property
    def to_type(self) -> str | None: ...
    @property
    def final_type(self) -> str | None: ...
    @property
    def from_dispname(self) -> str | None: ...
    @property
    def to_dispname(self) -> str | None: ...
    @property
    def final_dispname(self) -> str | None: ...
    @property
    def missed_queue_calls(self) -> str | None: ...
    @property
    def talk_seconds(self) -> int: ...
    @property
    def is_answered(self) -> bool: ...
    def to_line(self, template: str = "27") -> str:
        """The record written back as one CDR line laid out as `template` (`"20"`, `"27"` or a
        comma list of 3CX field names); `ConfigError` for an unusable template."""
    def to_dict(self) -> dict[str, object]:
        """Every attribute as a dict (same names; times stay datetimes)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class CdrParser:
    """Parses 3CX CDR text lines laid out as a field template (`"27"`, `"20"` or the field
    names in order, `"historyid,callid,duration,…"`). Raises `ConfigError` for an unusable
    template."""

    def __new__(cls, template: str = "27", max_line_len: int | None = None) -> CdrParser: ...
    @property
    def fields(self) -> list[str]: ...
    def parse_line(self, text: str, line: int = 1) -> Cdr:
        """Parses one line; raises `ParseError` (with `line`, `field`, `value`). `line` is only
        used in errors and as `Cdr.line`."""
    def parse_lines(self, lines: str | Sequence[str]) -> list[Cdr | ParseError]:
        """Parses many lines in one call, without holding the GIL. A `str` is split at line
        breaks (CRLF or LF), blank lines passed over, line numbers counted from 1; a list gives
        one result per element (element `i` is line `i + 1`). Bad lines give their `ParseError`
        in place (returned, not raised)."""

# --- Direction and call requests ---------------------------------------------------------

@final
class CallMapper:
    """Maps CDRs to call requests, without a configuration file (`from_config` for a
    `Config`'s). Node: `CallMapper`.

    `timezone` is the PBX's IANA zone (timestamps carry its offset); `extensions` an
    `ExtensionMap` or a dict of extension → email or {email, name}; `internal_calls` is
    `"skip"` or `"as_outbound"`; `trunk_dns` / `service_dns` are the DNs of trunks and of
    queues, ring groups, IVRs and voicemail, used when records carry no type fields;
    `number_format` how `phoneNumber` is written; `call_id_prefix` the prefix of `pbxCallId`.
    Raises `ConfigError` for an unusable setting."""

    def __new__(
        cls,
        timezone: str = "UTC",
        extensions: ExtensionMap | Mapping[str, str | Mapping[str, str]] | None = None,
        internal_calls: Literal["skip", "as_outbound"] = "skip",
        default_region: str = "US",
        trunk_dns: Sequence[str] = ...,
        service_dns: Sequence[str] = ...,
        number_format: NumberFormat = "e164",
        call_id_prefix: str = "3cx",
    ) -> CallMapper: ...
    @staticmethod
    def from_config(config: Config) -> CallMapper:
        """The mapper a loaded `Config` describes."""
    def classify(self, cdr: Cdr) -> Classification:
        """`classify(cdr, self)`."""
    def map(self, cdr: Cdr) -> CallRequest | Skip:
        """`to_call_request(cdr, self)`."""
    def map_lines(self, parser: CdrParser, lines: str | Sequence[str]) -> list[tuple[int, CallRequest | Skip | ParseError]]:
        """`map_lines(parser, lines, self)`."""
    def map_lines_json(self, parser: CdrParser, lines: str | Sequence[str]) -> bytes:
        """`map_lines_json(parser, lines, self)`."""
    def explain(self, record: str | Cdr, parser: CdrParser | None = None) -> Explanation:
        """The decision trail of one record (a CDR line read with `parser`, default the
        27-field layout, or a `Cdr`): the same decisions `map` takes. Never raises for a bad
        line: its `outcome["kind"]` is `refused`. Returns the `Explanation` dict, with `text`,
        its rendering. Node: `CallMapper.explain`."""

MappingConfig = CallMapper

class Explanation(TypedDict):
    """Why a call was mapped the way it was (`pbx-sideloader explain --json`'s object;
    docs/explain.md): the fields used, the direction with its rule and evidence, the owner
    with its rule and the field or leg it came from, the other party raw → normalized, the
    owner's email and its source (`map`, `xapi_user`, `default_email`), the talk time, the
    outcome (`kind` `call` with `request`, `skipped` with `reason`, `refused` with `error`),
    and `text`, the readable rendering."""

    pbx_call_id: str | None
    location: str | None
    fields: list[dict[str, str]]
    legs: NotRequired[list[dict[str, Any]]]
    direction: dict[str, Any]
    owner: dict[str, Any]
    other_party: dict[str, Any] | None
    email: dict[str, Any] | None
    talk_time: dict[str, Any]
    outcome: dict[str, Any]
    text: str

class CallExplanation(Explanation):
    """`Sideloader.explain()`'s answer: the explanation and `delivery` (`checkpoint`,
    `record_checkpoint`, `position` — `before_checkpoint`, `after_checkpoint` or
    `no_checkpoint` — `quarantined` with its reason, `summary`)."""

    delivery: dict[str, Any]

@final
class Classification:
    """A call's direction, the deciding rule, the owning extension and the other party."""

    @property
    def direction(self) -> Direction: ...
    @property
    def rule(self) -> str: ...
    @property
    def rule_code(self) -> RuleCode: ...
    @property
    def explanation(self) -> str:
        """The rule in words (the same text as `rule`; Node's `explanation`)."""
    @property
    def owner(self) -> str | None: ...
    @property
    def counterpart(self) -> str | None: ...

SkipCode = Literal[
    "INTERNAL",
    "UNKNOWN_DIRECTION",
    "NO_OWNER",
    "NO_OWNER_EMAIL",
    "BLANK_LINE",
    "OUTSIDE_RANGE",
    "MISSED_UNROUTED",
    "MISSED_OUTSIDE_HOURS",
]

@final
class Skip:
    """A call not sent to the API: `reason` (stable code), `message` (in words), `extension`
    (of a `NO_OWNER_EMAIL` skip)."""

    @property
    def reason(self) -> SkipCode: ...
    @property
    def message(self) -> str: ...
    @property
    def extension(self) -> str | None: ...
    def __eq__(self, other: object, /) -> bool: ...

def classify(cdr: Cdr, config: Config | CallMapper) -> Classification:
    """Classifies a call's direction."""

def to_call_request(cdr: Cdr, config: Config | CallMapper) -> CallRequest | Skip:
    """The call API's `PbxCallRequest` for a CDR (a dict with exactly its camelCase keys), or a
    `Skip` with the reason. Raises `ParseError` when the record lacks what every call needs (a
    start time, an id)."""

def map_lines(
    parser: CdrParser, lines: str | Sequence[str], config: Config | CallMapper
) -> list[tuple[int, CallRequest | Skip | ParseError]]:
    """The fast path: parse and map many lines in one call, without the GIL; `(line, outcome)`
    for each, the outcome being the call request dict, a `Skip`, or the `ParseError` of the
    line (returned, not raised)."""

def map_lines_json(parser: CdrParser, lines: str | Sequence[str], config: Config | CallMapper) -> bytes:
    """The bulk form of `map_lines`: one JSON array (UTF-8 bytes, for `json.loads`) with one
    object per line, `line` and one of `call`, `skipped` (reason text) or `error` (`field`,
    `value`, `message`): the objects `pbx-convert` prints. A blank element of a list is a
    `skipped` line (`"blank line"`)."""

# --- Extensions --------------------------------------------------------------------------

@final
class User:
    """A person behind an extension."""

    @property
    def extension(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str | None: ...

@final
class ExtensionMap:
    """Extension → user (who owns a call), with an optional fallback email. `mapping` maps an
    extension to an email or to `{"email": ..., "name": ...}` (as the YAML `extensions.map`).
    Without `default_email`, calls of an unmapped extension are skipped with the reason."""

    def __new__(
        cls,
        mapping: Mapping[str, str | Mapping[str, str]] | None = None,
        default_email: str | None = None,
    ) -> ExtensionMap: ...
    @staticmethod
    def from_yaml(text: str, key: str | None = None, default_email: str | None = None) -> ExtensionMap:
        """Reads a YAML mapping of extension → email or {email, name}. With `key`, the map is
        the value under that top-level key (`key="extensions"` for
        `examples/data/extensions.yml`)."""
    @staticmethod
    def from_config(config: Config) -> ExtensionMap:
        """The map of a loaded `Config` (the same as `config.extensions`)."""
    def set(self, extension: str, email: str, name: str | None = None) -> None:
        """Adds or replaces the user of `extension`."""
    def get(self, extension: str) -> User | None: ...
    def email_for(self, extension: str) -> str | None:
        """The email a call of this extension is attributed to: the user's, else the fallback
        `default_email`, else None."""
    def __len__(self) -> int: ...
    def __contains__(self, extension: str, /) -> bool: ...

# --- Configuration -----------------------------------------------------------------------

@final
class Config:
    """The validated sideloader configuration (the YAML of `examples/config/sideloader.yml`).

    Build it with `Config.load(path)` or `Config.from_yaml(text)`; both raise `ConfigError`
    whose `issues` lists every problem as (path, value, message). `${VAR}` and
    `${VAR:-default}` are looked up in `env` (a mapping), or in the process environment when
    `env` is None. Secrets never appear in `repr`."""

    @staticmethod
    def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
        """Reads and validates a configuration file; raises `OSError` or `ConfigError`."""
    @staticmethod
    def from_yaml(text: str, env: Mapping[str, str] | None = None) -> Config:
        """Reads and validates a configuration from YAML text; raises `ConfigError`."""
    @property
    def timezone(self) -> str: ...
    @property
    def cdr_template(self) -> str: ...
    @property
    def default_region(self) -> str: ...
    @property
    def internal_calls(self) -> Literal["skip", "as_outbound"]: ...
    @property
    def source_kind(self) -> SourceKind: ...
    @property
    def trunk_dns(self) -> list[str]: ...
    @property
    def service_dns(self) -> list[str]: ...
    @property
    def extensions(self) -> ExtensionMap: ...
    @property
    def groups_enabled(self) -> bool: ...
    @property
    def call_api(self) -> CallApiSettings: ...
    def call_api_token(self) -> str | None:
        """The call API's bearer token, or None (a method, so it never shows as an attribute)."""
    @property
    def xapi(self) -> XapiSettings | None: ...
    def xapi_client_secret(self) -> str | None:
        """The XAPI client secret, or None."""
    @property
    def extensions_from_xapi(self) -> bool: ...
    @property
    def direction(self) -> DirectionSettings: ...
    @property
    def business_hours_source(self) -> Literal["schedule", "xapi"] | None: ...
    @property
    def groups(self) -> GroupSettings: ...
    @property
    def poll_interval_secs(self) -> float: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def quarantine_path(self) -> str: ...
    @property
    def http_listen(self) -> str: ...
    @property
    def log_level(self) -> str: ...
    @property
    def log_format(self) -> Literal["text", "json"]: ...

class CallApiSettings(TypedDict):
    """`Config.call_api`: the call-logger API settings without the token."""

    base_url: str
    has_token: bool
    timeout_secs: float
    concurrency: int
    max_attempts: int
    insecure_skip_tls_verify: bool

class XapiSettings(TypedDict):
    """`Config.xapi`: the 3CX XAPI settings without the client secret."""

    base_url: str
    client_id: str
    refresh_secs: float
    insecure_skip_tls_verify: bool

class DirectionSettings(TypedDict):
    """`Config.direction`: the direction policy."""

    trunk_dns: list[str]
    service_dns: list[str]
    extension_digits: tuple[int, int]
    extension_ranges: list[tuple[int, int]]
    min_external_digits: int

class GroupSettings(TypedDict):
    """`Config.groups`: call-group monitoring settings."""

    enabled: bool
    interval_secs: float
    debounce: int
    include: list[str]
    exclude: list[str]
    groups_with_own_hours: list[str]

def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """`Config.load(path, env)` (Node: `loadConfig(path, vars)`); raises `OSError` or `ConfigError`."""

# --- Business hours and call groups ------------------------------------------------------

@final
class BusinessHours:
    """A weekly schedule in one IANA timezone with holidays, closures, openings and breaks.
    Queries take an aware `datetime` (a naive one raises `ValueError`) and never read a clock."""

    @staticmethod
    def from_config(config: Config) -> BusinessHours | None:
        """The `business_hours` schedule of a loaded `Config`, or None when it has none (the
        section is absent, or `business_hours_source` is `"xapi"`: use `from_xapi` then)."""
    @staticmethod
    def from_config_group(config: Config, group_id: str) -> BusinessHours | None:
        """The hours of a group that has its own (`groups.hours.<group_id>`), or None
        (`config.groups["groups_with_own_hours"]` lists those ids)."""
    @staticmethod
    def from_xapi(office_hours: str | Mapping[str, object]) -> BusinessHours:
        """From 3CX XAPI `GET /OfficeHours` (JSON text or the decoded dict). Raises `ValueError`
        for JSON that is not an OfficeHours object, `ConfigError` for unusable values (an
        unknown time zone, a bad period)."""
    @staticmethod
    def weekdays(timezone: str, interval: str = "09:00-17:00") -> BusinessHours: ...
    @staticmethod
    def always(timezone: str) -> BusinessHours: ...
    @staticmethod
    def never(timezone: str) -> BusinessHours: ...
    @property
    def timezone(self) -> str: ...
    def is_open(self, at: datetime.datetime) -> bool:
        """Whether open at `at`; a naive datetime raises `ValueError`."""
    def state(self, at: datetime.datetime) -> HoursStatus:
        """Open or closed at `at`, and why: `reason` the `HoursState` code, `name` the
        holiday's or closure's, if that is why."""
    def next_change(self, at: datetime.datetime) -> tuple[datetime.datetime, bool] | None:
        """The next change after `at`: (when, opens) with `when` an aware UTC datetime and
        `opens` True when the office opens then; None when nothing changes any more."""

HoursReason = Literal[
    "interval", "extra_opening", "always", "outside_hours", "holiday", "extra_closure", "break", "never"
]

class HoursStatus(TypedDict):
    """`BusinessHours.state(at)`: open or closed, why (`HoursState` code) and the holiday's or
    closure's name when that is why."""

    open: bool
    reason: HoursReason
    name: str | None

@final
class GroupMonitor:
    """Coverage-monitor settings: business hours (per group where given), `debounce`
    (consecutive failing checks before an alert opens), and which group ids to watch
    (`include`, empty: all) or never watch (`exclude`)."""

    def __new__(
        cls,
        hours: BusinessHours,
        debounce: int = 2,
        include: Sequence[str] = ...,
        exclude: Sequence[str] = ...,
        group_hours: dict[str, BusinessHours] = ...
    ) -> GroupMonitor: ...
    @staticmethod
    def from_config(config: Config, hours: BusinessHours | None = None) -> GroupMonitor: ...
    def evaluate(
        self, groups: Sequence[GroupDict], state: MonitorState, now: datetime.datetime
    ) -> list[AlertAction]:
        """`evaluate_groups(self, groups, state, now)`."""

@final
class MonitorState:
    """The coverage monitor's memory between checks (failure counts, open alerts). Keep it
    across runs with `to_json()` / `MonitorState.from_json(text)` so a restart neither posts an
    alert again nor forgets one."""

    def __new__(cls) -> MonitorState: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> MonitorState: ...
    def record_alert_id(self, group_id: str, alert_id: str) -> None: ...
    def record_opened(self, request: Mapping[str, object], alert: Mapping[str, object]) -> bool:
        """Records the backend's answer to an open action: True when it is the group's own alert
        (same `callGroupId` and `alertType`: its id is recorded); False (the open undone: the
        next check posts again; never resolve that alert) for another group's or type's alert.
        Raises `ValueError` for a `request` or `alert` of another shape."""
    def open_failed(self, group_id: str) -> None: ...
    def resolve_failed(self, group_id: str, alert: Mapping[str, object]) -> None:
        """Undoes a resolve action whose delivery failed (`alert`: the action's `alert`); not for a
        resolve answered 404/410 (the alert is gone and already forgotten). Raises `ValueError`
        for an `alert` of another shape."""
    def adopt_active(self, alerts: str | Sequence[Mapping[str, object]], now: datetime.datetime) -> None:
        """Takes over alerts the backend reports as active (a list of its alert objects, or the
        JSON text), so they are resolved later rather than posted again."""
    @property
    def open_alerts(self) -> list[str]: ...

SideloaderErrorKind = Literal[
    "config",
    "client",
    "transport",
    "status",
    "auth",
    "token",
    "decode",
    "missing_field",
    "paging",
    "core",
    "read_file",
    "file_too_large",
    "io",
    "in_use",
    "bind",
    "bad_checkpoint",
    "corrupt_checkpoint",
    "checkpoint_conflict",
    "checkpoint_ahead",
    "connect",
    "postgres",
    "sql_server",
    "timeout",
    "tls",
    "schema",
    "source",
    "source_misconfigured",
    "checkpoint",
    "quarantine",
    "auth_failed",
    "unavailable",
    "group_directory",
    "active_alerts",
    "monitor_state",
    "failed",
    "interrupted",
    "panicked",
    "lost_leadership",
    "lease_lost",
    "busy",
]
"""The `kind` of a `PbxError` or `ConfigError` a `Sideloader` raises (pbx-core's `SideloaderErrorKind`)."""

class SideloaderSummary(TypedDict):
    """What one `Sideloader.run_once()` drain did (`pbx-sideloader --once`'s summary)."""

    received: int
    delivered: int
    duplicates: int
    skipped: dict[str, int]
    quarantined: int
    retries: int
    auth_failures: int
    poisoned: int
    failures: dict[str, int]
    newest_call_start: str | None
    checkpoint: str | None
    sink: str
    text: str

BackfillSummary = TypedDict(
    "BackfillSummary",
    {
        "received": int,
        "delivered": int,
        "duplicates": int,
        "skipped": dict[str, int],
        "quarantined": int,
        "retries": int,
        "auth_failures": int,
        "poisoned": int,
        "failures": dict[str, int],
        "newest_call_start": str | None,
        "checkpoint": str | None,
        "sink": str,
        "text": str,
        "from": str,
        "to": str,
        "calls": int,
        "elapsed_secs": float,
    },
)
"""What one `Sideloader.backfill()` did (`pbx-sideloader backfill`'s summary): the counters,
the backfill's own checkpoint, `from`/`to` as RFC 3339 instants, the calls the API answered
for (`delivered + duplicates`) and how long it ran."""

class SideloaderStatus(TypedDict):
    """A `Sideloader`'s counters and position now (the sideloader's `/status`)."""

    running: bool
    received: int
    delivered: int
    duplicates: int
    skipped: dict[str, int]
    quarantined: int
    retries: int
    auth_failures: int
    poisoned: int
    failures: dict[str, int]
    newest_call_start: str | None
    checkpoint: str | None
    last_error: str | None
    stopped: str | None
    leader: bool | None

@final
class Sideloader:
    """The sideloader `pbx-sideloader` runs: any source kind, the call-logger API or a
    JSON-lines file, file or PostgreSQL checkpoints, the quarantine; as a service (`start()`)
    also the call-group monitor and HA leadership. Checkpoints only past acknowledged calls.
    The GIL is released while it works.

    `Sideloader(config)` takes a `Config` or the path of a YAML configuration (read as
    `Config.load(path)`), builds the source (a socket source starts listening here), the sink
    and the checkpoint store, and reads XAPI users with `extensions_from_xapi`. Raises
    `OSError` / `ConfigError` (every problem in `issues`) for a bad configuration file,
    `ConfigError` (kind `config`, `pbx-sideloader`'s message) when a part cannot be built,
    `PbxError` when XAPI users cannot be read.

    ```python
    s = pbx.Sideloader("sideloader.yml")   # or a pbx.Config
    print(s.run_once()["text"])            # one drain; raises if calls are left behind
    s.start(); ...; s.stop()               # the service on a background thread
    ```"""

    def __new__(cls, config: Config | str | os.PathLike[str]) -> Sideloader: ...
    def run_once(self) -> SideloaderSummary:
        """Drains the source once. Raises `PbxError` (kind `auth_failed`, `unavailable`,
        `checkpoint`, `quarantine`; `busy` while started) — never returns with calls left
        behind. Ctrl-C stops the drain as `pbx-sideloader` stops on SIGINT (the calls in
        flight finish, the checkpoint is saved at the last acknowledged call) and raises
        `KeyboardInterrupt`."""
    def backfill(self, from_: str, to: str) -> BackfillSummary:
        """Delivers the calls that started between `from_` and `to` (`pbx-sideloader
        backfill`): each a day (`YYYY-MM-DD` in `pbx.timezone`, both days included) or an RFC
        3339 instant (`to` excluded), with the backfill's own checkpoint (run it again to
        resume). Raises `ConfigError` (kind `invalid_setting`) for a bad bound or an empty
        range, `PbxError` (kinds as `run_once()`'s) when it stopped before its end. A database
        source reads only that range. Ctrl-C stops it as it stops `run_once()`."""
    def start(self) -> None:
        """Runs the service on a background thread until `stop()`: delivers as a stream while
        there is more to read, then polls every `polling.interval_secs`; the group monitor and
        HA leadership when configured. Raises `PbxError` (kind `busy`) when it already runs."""
    def stop(self) -> SideloaderStatus:
        """Stops the service; calls in flight finish (10 s at most) and the checkpoint is saved
        at the last acknowledged call. Raises `PbxError` when delivery had stopped on an error
        (credentials refused, the checkpoint store failed)."""
    def status(self) -> SideloaderStatus:
        """The counters and the checkpoint, now."""
    def trigger(self) -> None:
        """Wakes the service to read the source now."""
    def explain(self, id: str | None = None, line: int | None = None) -> CallExplanation | None:
        """Explains one call read from the configured source (`pbx-sideloader explain`): by
        `id` (a `pbxCallId`, a 3CX history id or call id) or, for a CDR text source, by
        `line`; `None` when the source has no such call. Works while the service runs. Raises
        `ConfigError` for `line` on a database source, `PbxError` when the source cannot be
        read."""

def evaluate_groups(
    monitor: GroupMonitor,
    groups: Sequence[GroupDict],
    state: MonitorState,
    now: datetime.datetime,
) -> list[AlertAction]:
    """One coverage check at `now` (an aware datetime); updates `state` and returns the actions
    to carry out: `open` with `request`, the exact `POST /api/alerts/call-groups` body, or
    `resolve` with `alert`, the open alert as the state held it (for
    `MonitorState.resolve_failed`)."""
