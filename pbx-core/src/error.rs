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
        /// The column's name in the site table.
        column: String,
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
    #[error("invalid configuration ({} problem{}):\n{}", issues.len(), if issues.len() == 1 { "" } else { "s" }, crate::config::list_issues(issues))]
    InvalidConfig {
        /// The problems, in document order of discovery.
        issues: Vec<crate::config::ConfigIssue>,
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

    /// The raw value the error is about, when it is about one value.
    pub fn value(&self) -> Option<&str> {
        match self {
            Error::InvalidValue { value, .. } | Error::InvalidSetting { value, .. } => Some(value),
            Error::InvalidColumn { value, .. } => value.as_deref(),
            _ => None,
        }
    }
}
