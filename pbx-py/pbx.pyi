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
    """One parsed 3CX call record. Times are aware UTC datetimes; number fields are as 3CX
    wrote them (`Ext.101`)."""

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
        """The record written back as one CDR line laid out as `template`; `ConfigError` for an
        unusable template."""
    def to_dict(self) -> dict[str, object]:
        """Every attribute as a dict (same names; times stay datetimes)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class CdrParser:
    """Parses 3CX CDR text lines laid out as a field template (`"27"`, `"20"` or the field
    names in order). Raises `ConfigError` for an unusable template."""

    def __new__(cls, template: str = "27", max_line_len: int | None = None) -> CdrParser: ...
    @property
    def fields(self) -> list[str]: ...
    def parse_line(self, text: str, line: int = 1) -> Cdr:
        """Parses one line; raises `ParseError`."""
    def parse_lines(self, lines: str | Sequence[str]) -> list[Cdr | ParseError]:
        """Parses many lines in one call; bad lines give their `ParseError` in place."""

# --- Direction and call requests ---------------------------------------------------------

@final
class CallMapper:
    """Maps CDRs to call requests, without a configuration file (`from_config` for a
    `Config`'s). Node: `CallMapper`."""

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
        line: its `outcome["kind"]` is `refused`. Node: `CallMapper.explain`."""

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
    """The call API's `PbxCallRequest` for a CDR, or a `Skip` with the reason."""

def map_lines(
    parser: CdrParser, lines: str | Sequence[str], config: Config | CallMapper
) -> list[tuple[int, CallRequest | Skip | ParseError]]:
    """The fast path: parse and map many lines in one call; `(line, outcome)` for each."""

def map_lines_json(parser: CdrParser, lines: str | Sequence[str], config: Config | CallMapper) -> bytes:
    """The bulk form of `map_lines`: one JSON array (UTF-8 bytes, for `json.loads`) with one
    object per line, `line` and one of `call`, `skipped` (reason text) or `error` (`field`,
    `value`, `message`): the objects `pbx-convert` prints."""

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
    """Extension → user, with an optional fallback email."""

    def __new__(
        cls,
        mapping: Mapping[str, str | Mapping[str, str]] | None = None,
        default_email: str | None = None,
    ) -> ExtensionMap: ...
    @staticmethod
    def from_yaml(text: str, key: str | None = None, default_email: str | None = None) -> ExtensionMap:
        """Reads a YAML mapping of extension → email or {email, name}."""
    @staticmethod
    def from_config(config: Config) -> ExtensionMap:
        """The map of a loaded `Config` (the same as `config.extensions`)."""
    def set(self, extension: str, email: str, name: str | None = None) -> None:
        """Adds or replaces the user of `extension`."""
    def get(self, extension: str) -> User | None: ...
    def email_for(self, extension: str) -> str | None: ...
    def __len__(self) -> int: ...
    def __contains__(self, extension: str, /) -> bool: ...

# --- Configuration -----------------------------------------------------------------------

@final
class Config:
    """The validated sideloader configuration."""

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
    """A weekly schedule in one IANA timezone with holidays. Queries take aware datetimes."""

    @staticmethod
    def from_config(config: Config) -> BusinessHours | None:
        """The `business_hours` schedule of a loaded `Config`, or None when it has none (the
        section is absent, or `business_hours_source` is `"xapi"`: use `from_xapi` then)."""
    @staticmethod
    def from_config_group(config: Config, group_id: str) -> BusinessHours | None:
        """The hours of a group that has its own (`groups.hours.<group_id>`), or None."""
    @staticmethod
    def from_xapi(office_hours: str | Mapping[str, object]) -> BusinessHours:
        """From 3CX XAPI `GET /OfficeHours` (JSON text or the decoded dict)."""
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
        """Open or closed at `at`, and why."""
    def next_change(self, at: datetime.datetime) -> tuple[datetime.datetime, bool] | None:
        """The next change after `at`: (when, opens), or None."""

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
    """Coverage-monitor settings: business hours, debounce, include/exclude."""

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
    """The coverage monitor's memory between checks (serializable)."""

    def __new__(cls) -> MonitorState: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> MonitorState: ...
    def record_alert_id(self, group_id: str, alert_id: str) -> None: ...
    def record_opened(self, request: Mapping[str, object], alert: Mapping[str, object]) -> bool:
        """Records the backend's answer to an open action: True when it is the group's own alert
        (its id is recorded); False (the open undone) for another group's or type's alert."""
    def open_failed(self, group_id: str) -> None: ...
    def resolve_failed(self, group_id: str, alert: Mapping[str, object]) -> None:
        """Undoes a resolve action whose delivery failed (`alert`: the action's `alert`); not for a
        resolve answered 404/410 (the alert is gone and already forgotten)."""
    def adopt_active(self, alerts: str | Sequence[Mapping[str, object]], now: datetime.datetime) -> None: ...
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
    also the call-group monitor and HA leadership. The GIL is released while it works.

    Raises `OSError` / `ConfigError` (every problem in `issues`) for a bad configuration file,
    `ConfigError` (kind `config`) when a part cannot be built, `PbxError` when XAPI users
    cannot be read."""

    def __new__(cls, config: Config | str | os.PathLike[str]) -> Sideloader: ...
    def run_once(self) -> SideloaderSummary:
        """Drains the source once. Raises `PbxError` (kind `auth_failed`, `unavailable`,
        `checkpoint`, `quarantine`; `busy` while started) — never returns with calls left
        behind."""
    def backfill(self, from_: str, to: str) -> BackfillSummary:
        """Delivers the calls that started between `from_` and `to` (`pbx-sideloader
        backfill`): each a day (`YYYY-MM-DD` in `pbx.timezone`, both days included) or an RFC
        3339 instant (`to` excluded), with the backfill's own checkpoint (run it again to
        resume). Raises `ConfigError` (kind `invalid_setting`) for a bad bound or an empty
        range, `PbxError` (kinds as `run_once()`'s) when it stopped before its end."""
    def start(self) -> None:
        """Runs the service on a background thread until `stop()`."""
    def stop(self) -> SideloaderStatus:
        """Stops the service; calls in flight finish and the checkpoint is saved at the last acknowledged call."""
    def status(self) -> SideloaderStatus:
        """The counters and the checkpoint, now."""
    def trigger(self) -> None:
        """Wakes the service to read the source now."""
    def explain(self, id: str | None = None, line: int | None = None) -> CallExplanation | None:
        """Explains one call read from the configured source (`pbx-sideloader explain`): by
        `id` (a `pbxCallId`, a 3CX history id or call id) or, for a CDR text source, by
        `line`; `None` when the source has no such call. Works while the service runs."""

def evaluate_groups(
    monitor: GroupMonitor,
    groups: Sequence[GroupDict],
    state: MonitorState,
    now: datetime.datetime,
) -> list[AlertAction]:
    """One coverage check at `now`; updates `state` and returns the actions to carry out."""
