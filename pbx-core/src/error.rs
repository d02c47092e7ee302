//! The one error type of pbx-core.

use std::fmt;

/// Where in the input a problem was found: a text line (1-based) or a database row.
///
/// ```
/// use pbx_core::Location;
/// assert_eq!(Location::Line(3).to_string(), "line 3");
/// assert_eq!(Location::Row("40001".into()).to_string(), "row 40001");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// A 1-based line number of a CDR text stream or file.
    Line(u64),
    /// A database row, named by its id.
    Row(String),
    /// A record with no position (a single value handed in alone).
    Unknown,
}

impl Location {
    /// The 1-based line number, for a [`Location::Line`].
    ///
    /// ```
    /// assert_eq!(pbx_core::Location::Line(3).line(), Some(3));
    /// assert_eq!(pbx_core::Location::Unknown.line(), None);
    /// ```
    pub fn line(&self) -> Option<u64> {
        match self {
            Location::Line(n) => Some(*n),
            _ => None,
        }
    }

    /// The row id, for a [`Location::Row`].
    pub fn row(&self) -> Option<&str> {
        match self {
            Location::Row(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(id) => write!(f, "row {id}"),
            Location::Unknown => f.write_str("record"),
        }
    }
}

/// Everything that can go wrong in pbx-core. Each variant says what was wrong and where.
///
/// ```
/// use pbx_core::cdr::CdrParser;
/// let parser = CdrParser::default();
/// let err = parser.parse_line(7, "Call 1,abc,xx:yy").unwrap_err();
/// assert_eq!(err.location(), Some(&pbx_core::Location::Line(7)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field name in a template is not one of the 27 3CX CDR fields. Fix the template
    /// (see [`crate::cdr::Field::ALL`] for the names).
    #[error(
        "unknown CDR field name {name:?}; the 3CX fields are historyid, callid, duration, time-start, time-answered, time-end, reason-terminated, from-no, to-no, from-dn, to-dn, dial-no, reason-changed, final-number, final-dn, bill-code, bill-rate, bill-cost, bill-name, chain, from-type, to-type, final-type, from-dispname, to-dispname, final-dispname, missed-queue-calls"
    )]
    UnknownField {
        /// The name as given.
        name: String,
    },

    /// A field template is unusable (empty, or a field named twice).
    #[error("invalid CDR field template: {reason}")]
    InvalidTemplate {
        /// What is wrong with it.
        reason: String,
    },

    /// A field holds a value that cannot be read as what the field must be.
    #[error("{at}: field `{field}` has value {value:?}, expected {expected}")]
    InvalidValue {
        /// Where the record was read from.
        at: Location,
        /// The field (CDR field or database column) name.
        field: &'static str,
        /// The raw value, as read (lossily decoded).
        value: String,
        /// What the field must hold.
        expected: &'static str,
    },

    /// A database row of a site table holds a value that cannot be read as the CDR field its
    /// column is mapped to, or is NULL where a value is required (the row id, the start time,
    /// the call's id). Fix the row, or the column mapping (`source.columns`).
    #[error("{at}: column `{column}` ({field}) {}, expected {expected}", match value { Some(v) => format!("has value {v:?}"), None => "is NULL".to_owned() })]
    InvalidColumn {
        /// The row (its id; `Location::Unknown` when the id itself is unreadable).
        at: Location,
        /// The column's name in the site table (boxed: keeps [`Error`] small).
        column: Box<str>,
        /// The CDR field the column is mapped to (`id` for the row id).
        field: &'static str,
        /// The raw value, or `None` for SQL NULL.
        value: Option<String>,
        /// What the column must hold.
        expected: &'static str,
    },

    /// A line holds a different number of fields than the template. Usually the template does
    /// not match the PBX's `CDRSettings.EnabledFields`.
    #[error(
        "{at}: {found} fields, but the template has {expected}; check that the template matches the PBX's CDR field settings"
    )]
    FieldCount {
        /// Where the line was read from.
        at: Location,
        /// Fields in the template.
        expected: usize,
        /// Fields found on the line (a trailing empty field from a trailing comma not counted).
        found: usize,
    },

    /// A line holds more fields than any template can (the limit is [`crate::cdr::MAX_FIELDS`]).
    #[error("{at}: more than {max} fields on one line; this is not a 3CX CDR line")]
    TooManyFields {
        /// Where the line was read from.
        at: Location,
        /// The limit.
        max: usize,
    },

    /// A line is longer than the parser's limit ([`crate::cdr::CdrParser::with_max_line_len`]).
    #[error("{at}: line is {len} bytes long, over the limit of {max} bytes")]
    LineTooLong {
        /// Where the line was read from.
        at: Location,
        /// The line's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// A line is empty (or only white space).
    #[error("{at}: empty line")]
    EmptyLine {
        /// Where the line was read from.
        at: Location,
    },

    /// A call cannot be built from a group of database legs.
    #[error("{at}: {reason}")]
    InvalidCall {
        /// The call (its `main_call_history_id`).
        at: Location,
        /// What is missing or inconsistent.
        reason: String,
    },

    /// A configuration has problems; every one found is listed, each with its path.
    #[error("invalid configuration ({} problem{}):\n{}", issues.len(), if issues.len() == 1 { "" } else { "s" }, list_issues(issues))]
    InvalidConfig {
        /// The problems, in document order of discovery.
        issues: Vec<ConfigIssue>,
    },

    /// A configuration value is unusable (for example an unknown timezone name).
    #[error("invalid setting `{setting}` = {value:?}: {reason}")]
    InvalidSetting {
        /// The setting's name or path.
        setting: String,
        /// The value given.
        value: String,
        /// Why it is unusable, and what is accepted.
        reason: String,
    },
}

impl Error {
    /// Where in the input the error was found, for errors about a record.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::InvalidValue { at, .. }
            | Error::InvalidColumn { at, .. }
            | Error::FieldCount { at, .. }
            | Error::TooManyFields { at, .. }
            | Error::LineTooLong { at, .. }
            | Error::EmptyLine { at }
            | Error::InvalidCall { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The field (or column) the error is about, when it is about one field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidValue { field, .. } | Error::InvalidColumn { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The same error placed at `at`, when it was raised without a position
    /// ([`Location::Unknown`]); other errors are returned unchanged.
    ///
    /// ```
    /// use pbx_core::{Error, Location};
    /// let e = Error::InvalidValue { at: Location::Unknown, field: "time-start", value: String::new(), expected: "a time" };
    /// assert_eq!(e.located(Location::Line(4)).location(), Some(&Location::Line(4)));
    /// ```
    pub fn located(mut self, location: Location) -> Error {
        if let Error::InvalidValue { at, .. }
        | Error::InvalidColumn { at, .. }
        | Error::InvalidCall { at, .. } = &mut self
            && *at == Location::Unknown
        {
            *at = location;
        }
        self
    }

    /// The problems as configuration issues (path, value, message), for errors about a
    /// configuration or a setting: every issue of [`Error::InvalidConfig`]; one for
    /// [`Error::InvalidSetting`] (at the setting); one at `template` for
    /// [`Error::UnknownField`] and [`Error::InvalidTemplate`]. Empty for errors about a record.
    ///
    /// ```
    /// let e = "sometimes".parse::<pbx_core::call::InternalCalls>().unwrap_err();
    /// let issues = e.issues();
    /// assert_eq!(issues[0].path, "internal_calls");
    /// assert_eq!(issues[0].value.as_deref(), Some("sometimes"));
    /// assert_eq!(issues[0].message, "expected one of skip, as_outbound");
    /// ```
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            Error::InvalidConfig { issues } => issues.clone(),
            Error::InvalidSetting {
                setting,
                value,
                reason,
            } => vec![ConfigIssue {
                path: setting.clone(),
                value: Some(value.clone()),
                message: reason.clone(),
            }],
            Error::UnknownField { name } => vec![ConfigIssue {
                path: "template".to_owned(),
                value: Some(name.clone()),
                message: self.to_string(),
            }],
            Error::InvalidTemplate { .. } => vec![ConfigIssue {
                path: "template".to_owned(),
                value: None,
                message: self.to_string(),
            }],
            _ => Vec::new(),
        }
    }

    /// The raw value the error is about, when it is about one value.
    pub fn value(&self) -> Option<&str> {
        match self {
            Error::InvalidValue { value, .. } | Error::InvalidSetting { value, .. } => Some(value),
            Error::InvalidColumn { value, .. } => value.as_deref(),
            _ => None,
        }
    }
}

impl Error {
    /// The variant of this error as a [`ErrorKind`] (its stable code: `kind().code()`).
    ///
    /// ```
    /// use pbx_core::{ErrorCategory, ErrorKind};
    /// let err = pbx_core::cdr::CdrParser::default().parse_line(7, "").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::EmptyLine);
    /// assert_eq!(err.kind().code(), "empty_line");
    /// assert_eq!(err.kind().category(), ErrorCategory::Parse);
    /// assert_eq!(err.kind().category().code(), "PBX_PARSE_ERROR");
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownField { .. } => ErrorKind::UnknownField,
            Error::InvalidTemplate { .. } => ErrorKind::InvalidTemplate,
            Error::InvalidValue { .. } => ErrorKind::InvalidValue,
            Error::InvalidColumn { .. } => ErrorKind::InvalidColumn,
            Error::FieldCount { .. } => ErrorKind::FieldCount,
            Error::TooManyFields { .. } => ErrorKind::TooManyFields,
            Error::LineTooLong { .. } => ErrorKind::LineTooLong,
            Error::EmptyLine { .. } => ErrorKind::EmptyLine,
            Error::InvalidCall { .. } => ErrorKind::InvalidCall,
            Error::InvalidConfig { .. } => ErrorKind::InvalidConfig,
            Error::InvalidSetting { .. } => ErrorKind::InvalidSetting,
        }
    }
}

/// Which [`Error`] variant an error is, without its data: what the bindings publish as an
/// error's `kind`. `Display` writes the code (see [`crate::vocab`]).
///
/// ```
/// use pbx_core::ErrorKind;
/// assert_eq!("field_count".parse::<ErrorKind>()?, ErrorKind::FieldCount);
/// assert_eq!(ErrorKind::FieldCount.to_string(), "field_count");
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::UnknownField`].
    UnknownField,
    /// [`Error::InvalidTemplate`].
    InvalidTemplate,
    /// [`Error::InvalidValue`].
    InvalidValue,
    /// [`Error::InvalidColumn`].
    InvalidColumn,
    /// [`Error::FieldCount`].
    FieldCount,
    /// [`Error::TooManyFields`].
    TooManyFields,
    /// [`Error::LineTooLong`].
    LineTooLong,
    /// [`Error::EmptyLine`].
    EmptyLine,
    /// [`Error::InvalidCall`].
    InvalidCall,
    /// [`Error::InvalidConfig`].
    InvalidConfig,
    /// [`Error::InvalidSetting`].
    InvalidSetting,
}

crate::vocab::vocabulary!(
    /// The variant's name in snake_case (`invalid_value`): the bindings' `kind`.
    ErrorKind, "error_kind",
    {
        Self::UnknownField => "unknown_field",
        Self::InvalidTemplate => "invalid_template",
        Self::InvalidValue => "invalid_value",
        Self::InvalidColumn => "invalid_column",
        Self::FieldCount => "field_count",
        Self::TooManyFields => "too_many_fields",
        Self::LineTooLong => "line_too_long",
        Self::EmptyLine => "empty_line",
        Self::InvalidCall => "invalid_call",
        Self::InvalidConfig => "invalid_config",
        Self::InvalidSetting => "invalid_setting",
    },
    all: [
        Self::UnknownField, Self::InvalidTemplate, Self::InvalidValue, Self::InvalidColumn,
        Self::FieldCount, Self::TooManyFields, Self::LineTooLong, Self::EmptyLine,
        Self::InvalidCall, Self::InvalidConfig, Self::InvalidSetting,
    ],
    display: code
);

impl ErrorKind {
    /// The group of errors this kind belongs to (what the bindings publish as `code`, and
    /// which exception class Python raises).
    ///
    /// ```
    /// use pbx_core::{ErrorCategory, ErrorKind};
    /// assert_eq!(ErrorKind::InvalidColumn.category(), ErrorCategory::Parse);
    /// assert_eq!(ErrorKind::UnknownField.category(), ErrorCategory::InvalidArgument);
    /// ```
    pub fn category(self) -> ErrorCategory {
        match self {
            ErrorKind::InvalidValue
            | ErrorKind::InvalidColumn
            | ErrorKind::FieldCount
            | ErrorKind::TooManyFields
            | ErrorKind::LineTooLong
            | ErrorKind::EmptyLine => ErrorCategory::Parse,
            ErrorKind::InvalidCall => ErrorCategory::InvalidCall,
            ErrorKind::InvalidConfig => ErrorCategory::Config,
            ErrorKind::UnknownField | ErrorKind::InvalidTemplate | ErrorKind::InvalidSetting => {
                ErrorCategory::InvalidArgument
            }
        }
    }
}

/// A group of [`ErrorKind`]s with one stable code, the `code` the bindings' errors carry
/// (`PBX_PARSE_ERROR`, …). `Display` writes the code.
///
/// ```
/// use pbx_core::ErrorCategory;
/// assert_eq!(ErrorCategory::Config.code(), "PBX_CONFIG_ERROR");
/// assert_eq!("PBX_INVALID_CALL".parse::<ErrorCategory>()?, ErrorCategory::InvalidCall);
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// A line, a row or a value cannot be read.
    Parse,
    /// A call cannot be built from database legs.
    InvalidCall,
    /// A configuration has problems (each with its path).
    Config,
    /// One setting or argument is unusable (a template, a timezone, a code).
    InvalidArgument,
    /// Delivery failed: the source, the checkpoint store, the quarantine, the call API (the
    /// sideloader's errors that are not about its configuration; never a pbx-core error).
    Sync,
    /// A call that does not fit the object's state (a drain asked of a sideloader that runs;
    /// never a pbx-core error).
    InvalidState,
}

crate::vocab::vocabulary!(
    /// The stable code: `PBX_PARSE_ERROR`, `PBX_INVALID_CALL`, `PBX_CONFIG_ERROR`,
    /// `PBX_INVALID_ARGUMENT`, `PBX_SYNC_ERROR` or `PBX_INVALID_STATE`.
    ErrorCategory, "error_category",
    {
        Self::Parse => "PBX_PARSE_ERROR",
        Self::InvalidCall => "PBX_INVALID_CALL",
        Self::Config => "PBX_CONFIG_ERROR",
        Self::InvalidArgument => "PBX_INVALID_ARGUMENT",
        Self::Sync => "PBX_SYNC_ERROR",
        Self::InvalidState => "PBX_INVALID_STATE",
    },
    all: [
        Self::Parse,
        Self::InvalidCall,
        Self::Config,
        Self::InvalidArgument,
        Self::Sync,
        Self::InvalidState,
    ],
    display: code
);

/// What went wrong in the sideloader — its adapters, delivery or runtime: the `kind` of a
/// `pbx_sources::Error` (`pbx_sources::Error::kind`) and of the errors the bindings' `Sideloader`
/// raises. `Display` writes the code.
///
/// ```
/// use pbx_core::{SideloaderErrorKind, Vocabulary};
/// assert_eq!(SideloaderErrorKind::AuthFailed.code(), "auth_failed");
/// assert_eq!("busy".parse::<SideloaderErrorKind>()?, SideloaderErrorKind::Busy);
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SideloaderErrorKind {
    /// The configuration cannot be used (a setting, a connection string, a part that cannot be
    /// built).
    Config,
    /// The HTTP client could not be built.
    Client,
    /// A request did not get an answer (connection, timeout, reset).
    Transport,
    /// A server answered with an unexpected HTTP status.
    Status,
    /// Credentials were refused.
    Auth,
    /// The XAPI token could not be obtained.
    Token,
    /// An answer could not be decoded.
    Decode,
    /// An answer lacks a field it must have.
    MissingField,
    /// An API's paging went wrong (a page repeated, no end).
    Paging,
    /// The data reached pbx-core and was refused there.
    Core,
    /// A file could not be read.
    ReadFile,
    /// A file is larger than its limit.
    FileTooLarge,
    /// A file or socket operation failed.
    Io,
    /// Another process (or sideloader) works on the same checkpoint file or quarantine.
    InUse,
    /// A socket source cannot listen on its address.
    Bind,
    /// A checkpoint of the wrong shape for its source.
    BadCheckpoint,
    /// A checkpoint store that cannot be read.
    CorruptCheckpoint,
    /// Another writer moved the checkpoint meanwhile.
    CheckpointConflict,
    /// A checkpoint beyond what the source holds.
    CheckpointAhead,
    /// A database cannot be reached.
    Connect,
    /// PostgreSQL answered with an error.
    Postgres,
    /// SQL Server answered with an error.
    SqlServer,
    /// A database operation timed out.
    Timeout,
    /// A TLS set-up failed.
    Tls,
    /// A table lacks the columns the source needs.
    Schema,
    /// Delivery stopped: the source failed.
    Source,
    /// The source answers in a way waiting will not heal (a login refused, a table missing).
    SourceMisconfigured,
    /// Delivery stopped: the checkpoint store failed.
    Checkpoint,
    /// Delivery stopped: the quarantine failed.
    Quarantine,
    /// Delivery stopped: the call API refused the credentials.
    AuthFailed,
    /// Delivery stopped: the call API or the file sink kept failing.
    Unavailable,
    /// The call groups could not be read.
    GroupDirectory,
    /// The open alerts could not be read.
    ActiveAlerts,
    /// The group monitor's state could not be read or saved.
    MonitorState,
    /// A step of the runtime failed (it names the step).
    Failed,
    /// A drain or backfill was stopped before its end; the checkpoint is saved.
    Interrupted,
    /// The delivery engine panicked (a bug, caught).
    Panicked,
    /// With `ha`: the leadership lock was lost.
    LostLeadership,
    /// In a fleet: the site's lease is no longer held.
    LeaseLost,
    /// A drain, backfill or start asked of a sideloader that runs or drains.
    Busy,
}

crate::vocab::vocabulary!(
    /// The stable code (`auth_failed`, `unavailable`, `busy`, …).
    SideloaderErrorKind, "sideloader_error_kind",
    {
        Self::Config => "config",
        Self::Client => "client",
        Self::Transport => "transport",
        Self::Status => "status",
        Self::Auth => "auth",
        Self::Token => "token",
        Self::Decode => "decode",
        Self::MissingField => "missing_field",
        Self::Paging => "paging",
        Self::Core => "core",
        Self::ReadFile => "read_file",
        Self::FileTooLarge => "file_too_large",
        Self::Io => "io",
        Self::InUse => "in_use",
        Self::Bind => "bind",
        Self::BadCheckpoint => "bad_checkpoint",
        Self::CorruptCheckpoint => "corrupt_checkpoint",
        Self::CheckpointConflict => "checkpoint_conflict",
        Self::CheckpointAhead => "checkpoint_ahead",
        Self::Connect => "connect",
        Self::Postgres => "postgres",
        Self::SqlServer => "sql_server",
        Self::Timeout => "timeout",
        Self::Tls => "tls",
        Self::Schema => "schema",
        Self::Source => "source",
        Self::SourceMisconfigured => "source_misconfigured",
        Self::Checkpoint => "checkpoint",
        Self::Quarantine => "quarantine",
        Self::AuthFailed => "auth_failed",
        Self::Unavailable => "unavailable",
        Self::GroupDirectory => "group_directory",
        Self::ActiveAlerts => "active_alerts",
        Self::MonitorState => "monitor_state",
        Self::Failed => "failed",
        Self::Interrupted => "interrupted",
        Self::Panicked => "panicked",
        Self::LostLeadership => "lost_leadership",
        Self::LeaseLost => "lease_lost",
        Self::Busy => "busy",
    },
    all: [
        Self::Config,
        Self::Client,
        Self::Transport,
        Self::Status,
        Self::Auth,
        Self::Token,
        Self::Decode,
        Self::MissingField,
        Self::Paging,
        Self::Core,
        Self::ReadFile,
        Self::FileTooLarge,
        Self::Io,
        Self::InUse,
        Self::Bind,
        Self::BadCheckpoint,
        Self::CorruptCheckpoint,
        Self::CheckpointConflict,
        Self::CheckpointAhead,
        Self::Connect,
        Self::Postgres,
        Self::SqlServer,
        Self::Timeout,
        Self::Tls,
        Self::Schema,
        Self::Source,
        Self::SourceMisconfigured,
        Self::Checkpoint,
        Self::Quarantine,
        Self::AuthFailed,
        Self::Unavailable,
        Self::GroupDirectory,
        Self::ActiveAlerts,
        Self::MonitorState,
        Self::Failed,
        Self::Interrupted,
        Self::Panicked,
        Self::LostLeadership,
        Self::LeaseLost,
        Self::Busy,
    ],
    display: code
);

/// One problem in a configuration: where, the value found, and what is wrong.
///
/// ```
/// let issue = pbx_core::config::ConfigIssue {
///     path: "business_hours.monday[1]".into(),
///     value: Some("25:00-26:00".into()),
///     message: "is not an interval like 09:00-17:00".into(),
/// };
/// assert_eq!(issue.to_string(), r#"business_hours.monday[1]: "25:00-26:00" is not an interval like 09:00-17:00"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigIssue {
    /// Where: `call_api.base_url`, `business_hours.monday[1]`, …
    pub path: String,
    /// The value found, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, phrased to follow the value.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(config)"
        } else {
            &self.path
        };
        match &self.value {
            Some(v) => write!(f, "{path}: {v:?} {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// An error as data, the way the bindings publish it (Node's `PbxErrorInfo`: what a thrown
/// error carries, and one bad line of a batch): the category's and kind's codes, the message,
/// and where the error has them the line or row, field, value, setting and configuration
/// issues. Absent parts are left out of its JSON.
///
/// ```
/// use pbx_core::cdr::CdrParser;
/// let e = CdrParser::default().parse_line(7, "Call 1,x,not-a-duration").unwrap_err();
/// let info = pbx_core::ErrorInfo::from(&e);
/// assert_eq!((info.code.as_str(), info.kind.as_str()), ("PBX_PARSE_ERROR", "field_count"));
/// assert_eq!(info.line, Some(7));
/// let json = serde_json::to_value(&info).unwrap();
/// assert!(json.get("issues").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErrorInfo {
    /// The category's code ([`ErrorCategory::code`]: `PBX_PARSE_ERROR`, …).
    pub code: String,
    /// The kind's code ([`ErrorKind::code`]: `invalid_value`, …).
    pub kind: String,
    /// The error in words (its `Display`).
    pub message: String,
    /// The 1-based line of a record read from a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The key of a record read from a database row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    /// The field the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value the error is about (the unknown field's name for [`Error::UnknownField`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The setting of an [`Error::InvalidSetting`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// Every problem of an [`Error::InvalidConfig`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<ConfigIssue>>,
}

impl ErrorInfo {
    /// An error raised by a binding itself (an argument it cannot convert, a file it cannot
    /// read), with its own codes.
    ///
    /// ```
    /// let info = pbx_core::ErrorInfo::binding("PBX_IO_ERROR", "io", "no such file");
    /// assert_eq!(info.message, "no such file");
    /// assert_eq!(info.line, None);
    /// ```
    pub fn binding(code: &str, kind: &str, message: impl Into<String>) -> Self {
        ErrorInfo {
            code: code.to_owned(),
            kind: kind.to_owned(),
            message: message.into(),
            ..ErrorInfo::default()
        }
    }
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        let kind = e.kind();
        let mut info = ErrorInfo::binding(kind.category().code(), kind.code(), e.to_string());
        info.line = e.location().and_then(Location::line);
        info.row = e.location().and_then(Location::row).map(str::to_owned);
        info.field = e.field().map(str::to_owned);
        info.value = e.value().map(str::to_owned);
        match e {
            Error::InvalidSetting { setting, .. } => info.setting = Some(setting.clone()),
            Error::UnknownField { name } => info.value = Some(name.clone()),
            Error::InvalidConfig { issues } => info.issues = Some(issues.clone()),
            _ => {}
        }
        info
    }
}

/// The issues, one per line, indented.
fn list_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<crate::vocab::UnknownCode> for Error {
    /// [`Error::InvalidSetting`] at the vocabulary's name, naming the accepted codes.
    fn from(e: crate::vocab::UnknownCode) -> Self {
        Error::InvalidSetting {
            setting: e.name.to_owned(),
            value: e.value,
            reason: format!("expected one of {}", e.codes.join(", ")),
        }
    }
}
