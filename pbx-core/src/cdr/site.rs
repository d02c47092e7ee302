//! A site's own CDR table (what the old sideloader polled): which column holds which CDR field,
//! and one row → `(id, Cdr)`.
//!
//! The adapters (PostgreSQL, SQL Server) build a [`SiteTable`] from the configured
//! [`TableMapping`], select [`SiteTable::columns`] in that order from [`SiteTable::table`]
//! ordered by the id column, and hand each row's values back to [`SiteTable::row`]. Names are
//! validated here as plain SQL identifiers ([`is_plain_identifier`]); quoting them is the
//! adapter's job (`pbx_sources::sql::SqlName`). Values never become SQL text.
//!
//! ```
//! use pbx_core::cdr::{SiteTable, SiteValue};
//! use pbx_core::config::TableMapping;
//! let mapping = TableMapping {
//!     name: "public.call_log".into(),
//!     columns: [("id", "id"), ("historyid", "history"), ("time-start", "started"), ("from-no", "caller")]
//!         .into_iter().map(|(f, c)| (f.to_owned(), c.to_owned())).collect(),
//! };
//! let table = SiteTable::new(&mapping)?;
//! assert_eq!(table.table(), "public.call_log");
//! let names: Vec<&str> = table.columns().iter().map(|c| c.name.as_str()).collect();
//! assert_eq!(names, ["id", "history", "started", "caller"]);
//! let (id, cdr) = table.text_row(&[Some("17"), Some("Call 23194"), Some("2020/06/29 07:56:32"), Some("0466452265")])?;
//! assert_eq!(id, 17);
//! assert_eq!(cdr.history_id.as_deref(), Some("23194"));
//! let err = table.row(&[SiteValue::Int(18), SiteValue::Text("9"), SiteValue::Null, SiteValue::Null]).unwrap_err();
//! assert_eq!(err.to_string(), "row 18: column `started` (time-start) is NULL, expected the call's start time (a UTC time)");
//! # Ok::<(), pbx_core::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::field::Field;
use super::parser::set_field;
use super::record::Cdr;
use super::value::{parse_duration, parse_timestamp};
use crate::error::{Error, Location};

/// A site table: its name and which column holds which CDR field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMapping {
    /// `table` or `schema.table`.
    pub name: String,
    /// CDR field name (or `id`) → column name; `id` is always present.
    pub columns: std::collections::BTreeMap<String, String>,
}

/// The longest identifier accepted (PostgreSQL's limit; SQL Server allows more).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// Whether `name` is a plain SQL identifier: each part starts with an ASCII letter or `_` and
/// holds only ASCII letters, digits and `_` (at most [`MAX_IDENTIFIER_LEN`] bytes); one part,
/// or two (`schema.table`) when `qualified`. Such a name cannot change a statement's meaning
/// once quoted, whatever the SQL dialect.
///
/// This is the one identifier check of the workspace: the configuration's validation
/// (`source.table`, `source.columns`, `checkpoint.table`), [`SiteTable::new`] and the SQL
/// adapters' quoting (`pbx_sources::sql::SqlName`, which quotes names that pass it) all use
/// it. Quoting itself is the adapters' job, not the core's.
///
/// ```
/// use pbx_core::cdr::is_plain_identifier;
/// assert!(is_plain_identifier("dbo.CallLog", true));
/// assert!(!is_plain_identifier("dbo.CallLog", false));
/// assert!(is_plain_identifier("_started_2", false));
/// assert!(!is_plain_identifier("x; DROP TABLE y", true));
/// assert!(!is_plain_identifier("a.b.c", true));
/// assert!(!is_plain_identifier("", false));
/// ```
pub fn is_plain_identifier(name: &str, qualified: bool) -> bool {
    let ok_part = |p: &str| {
        p.len() <= MAX_IDENTIFIER_LEN
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match name.split_once('.') {
        None => ok_part(name),
        Some((schema, table)) => qualified && ok_part(schema) && ok_part(table),
    }
}

/// [`is_plain_identifier`] as a configuration check: `Ok` for a plain identifier, else the
/// error naming `setting` (its path, such as `source.table`), the value and what is accepted.
///
/// ```
/// use pbx_core::cdr::check_identifier;
/// assert!(check_identifier("public.cdr", true, "source.table").is_ok());
/// let err = check_identifier("cdr; --", true, "source.table").unwrap_err();
/// assert!(err.to_string().starts_with(r#"invalid setting `source.table` = "cdr; --": is not a plain SQL identifier"#), "{err}");
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] when `name` is not a plain identifier.
pub fn check_identifier(name: &str, qualified: bool, setting: &str) -> Result<(), Error> {
    if is_plain_identifier(name, qualified) {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            setting: setting.to_owned(),
            value: name.to_owned(),
            reason: if qualified {
                "is not a plain SQL identifier (ASCII letters, digits and _, starting with a letter or _, at most 63 long; schema.table allowed)".into()
            } else {
                "is not a plain SQL identifier (ASCII letters, digits and _, starting with a letter or _, at most 63 long)".into()
            },
        })
    }
}

/// What a site-table column holds: the row id, or one CDR field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SiteField {
    /// The increasing row id (the checkpoint).
    Id,
    /// A CDR field.
    Cdr(Field),
}

impl SiteField {
    /// `id` or the CDR field's name.
    pub fn name(self) -> &'static str {
        match self {
            SiteField::Id => "id",
            SiteField::Cdr(f) => f.name(),
        }
    }
}

/// One selected column: what it holds and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteColumn {
    /// What it holds.
    pub field: SiteField,
    /// The column's name in the table: a plain identifier ([`is_plain_identifier`]), unquoted.
    pub name: String,
}

/// One value of a row, as the adapter read it. Text is read as a CDR line field would be
/// (trimmed; empty = absent), with a few database spellings also accepted: a time with an
/// offset (`2024-06-17 05:59:49.5+00`, RFC 3339), a talk time as whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SiteValue<'a> {
    /// SQL NULL.
    Null,
    /// A text value (or any value the adapter read as text).
    Text(&'a str),
    /// An integer: the row id, a talk time in seconds, or a number kept as its digits.
    Int(i64),
    /// A timestamp, already in UTC.
    Time(DateTime<Utc>),
}

impl<'a> From<Option<&'a str>> for SiteValue<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(SiteValue::Null, SiteValue::Text)
    }
}

impl fmt::Display for SiteValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteValue::Null => f.write_str("NULL"),
            SiteValue::Text(s) => f.write_str(s),
            SiteValue::Int(i) => write!(f, "{i}"),
            SiteValue::Time(t) => f.write_str(&t.to_rfc3339()),
        }
    }
}

/// A site table's mapping, validated: the table, and the columns to select (the id column
/// first, then the CDR fields in 3CX's field order).
///
/// Required: `id` (defaults to a column named `id` when not mapped) and `time-start`. When
/// neither `historyid` nor `callid` is mapped, the row id is the call's history id; when one is
/// mapped it must not be NULL (when both are, at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteTable {
    table: String,
    columns: Vec<SiteColumn>,
    id_as_history: bool,
}

impl SiteTable {
    /// Validates a mapping.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a table or column name that is not a plain identifier, a
    /// key that is neither `id` nor a CDR field name, a field mapped twice, or `time-start`
    /// not mapped.
    pub fn new(mapping: &TableMapping) -> Result<SiteTable, Error> {
        check_identifier(&mapping.name, true, "source.table")?;
        let table = mapping.name.clone();
        let mut id: Option<String> = None;
        let mut fields: Vec<SiteColumn> = Vec::with_capacity(mapping.columns.len());
        for (key, column) in &mapping.columns {
            let setting = || format!("source.columns.{key}");
            check_identifier(column, false, &setting())?;
            let name = column.clone();
            if key.trim().eq_ignore_ascii_case("id") {
                id = Some(name);
                continue;
            }
            let field: Field = key.parse().map_err(|_| Error::InvalidSetting {
                setting: setting(),
                value: key.clone(),
                reason: "is not id or a CDR field name (historyid, time-start, from-no, …)".into(),
            })?;
            if fields.iter().any(|c| c.field == SiteField::Cdr(field)) {
                return Err(Error::InvalidSetting {
                    setting: setting(),
                    value: key.clone(),
                    reason: format!("maps the field `{field}` a second time"),
                });
            }
            fields.push(SiteColumn {
                field: SiteField::Cdr(field),
                name,
            });
        }
        if !fields
            .iter()
            .any(|c| c.field == SiteField::Cdr(Field::TimeStart))
        {
            return Err(Error::InvalidSetting {
                setting: "source.columns.time-start".into(),
                value: String::new(),
                reason: "is required: every call needs its start time".into(),
            });
        }
        fields.sort_by_key(|c| match c.field {
            SiteField::Cdr(f) => Some(f),
            SiteField::Id => None,
        });
        let id_as_history = !fields.iter().any(|c| {
            matches!(
                c.field,
                SiteField::Cdr(Field::HistoryId) | SiteField::Cdr(Field::CallId)
            )
        });
        let mut columns = Vec::with_capacity(fields.len() + 1);
        columns.push(SiteColumn {
            field: SiteField::Id,
            name: id.unwrap_or_else(|| "id".into()),
        });
        columns.extend(fields);
        Ok(SiteTable {
            table,
            columns,
            id_as_history,
        })
    }

    /// The table: `table` or `schema.table`, a plain identifier ([`is_plain_identifier`]),
    /// unquoted.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The id column (the checkpoint, ordered by), unquoted.
    pub fn id_column(&self) -> &str {
        &self.columns[0].name
    }

    /// The columns to select, in the order [`SiteTable::row`] expects their values; the id
    /// column is first.
    pub fn columns(&self) -> &[SiteColumn] {
        &self.columns
    }

    /// Reads one row given as typed values in [`SiteTable::columns`] order.
    ///
    /// # Errors
    /// [`Error::InvalidColumn`] naming the row id (when readable) and the column: the id NULL
    /// or not an integer, a required value NULL or empty, a value that cannot be read as its
    /// field; [`Error::FieldCount`] when the number of values is not the number of columns.
    pub fn row(&self, values: &[SiteValue<'_>]) -> Result<(i64, Cdr), Error> {
        let id_col = &self.columns[0];
        let id_error = |value: Option<String>| Error::InvalidColumn {
            at: Location::Unknown,
            column: id_col.name.as_str().into(),
            field: "id",
            value,
            expected: "an integer row id",
        };
        let id = match values.first() {
            Some(SiteValue::Int(i)) => *i,
            Some(SiteValue::Text(t)) => t
                .trim()
                .parse::<i64>()
                .map_err(|_| id_error(Some((*t).to_owned())))?,
            Some(SiteValue::Null) | None => return Err(id_error(None)),
            Some(v @ SiteValue::Time(_)) => return Err(id_error(Some(v.to_string()))),
        };
        let at = || Location::Row(id.to_string());
        if values.len() != self.columns.len() {
            return Err(Error::FieldCount {
                at: at(),
                expected: self.columns.len(),
                found: values.len(),
            });
        }
        let mut cdr = Cdr::default();
        let mut id_present = false;
        for (column, value) in self.columns.iter().zip(values).skip(1) {
            let SiteField::Cdr(field) = column.field else {
                continue;
            };
            let invalid = |value: Option<String>, expected: &'static str| Error::InvalidColumn {
                at: at(),
                column: column.name.as_str().into(),
                field: field.name(),
                value,
                expected,
            };
            set_value(&mut cdr, field, value, &at).map_err(|e| match e {
                Error::InvalidValue {
                    value, expected, ..
                } => invalid(Some(value), expected),
                other => other,
            })?;
            match field {
                Field::TimeStart if cdr.time_start.is_none() => {
                    return Err(invalid(
                        (!matches!(value, SiteValue::Null)).then(|| value.to_string()),
                        "the call's start time (a UTC time)",
                    ));
                }
                Field::HistoryId | Field::CallId => {
                    id_present |= cdr.history_id.is_some() || cdr.call_id.is_some();
                }
                _ => {}
            }
        }
        if self.id_as_history {
            cdr.history_id = Some(id.to_string());
        } else if !id_present {
            let column = self
                .columns
                .iter()
                .find(|c| {
                    matches!(
                        c.field,
                        SiteField::Cdr(Field::HistoryId) | SiteField::Cdr(Field::CallId)
                    )
                })
                .unwrap_or(&self.columns[0]);
            return Err(Error::InvalidColumn {
                at: at(),
                column: column.name.as_str().into(),
                field: column.field.name(),
                value: None,
                expected: "the call's history id or call id",
            });
        }
        Ok((id, cdr))
    }

    /// Reads one row given as text values (`None` = NULL) in [`SiteTable::columns`] order.
    ///
    /// # Errors
    /// As [`SiteTable::row`].
    pub fn text_row(&self, values: &[Option<&str>]) -> Result<(i64, Cdr), Error> {
        const INLINE: usize = 32;
        if values.len() <= INLINE {
            let mut typed = [SiteValue::Null; INLINE];
            for (t, v) in typed.iter_mut().zip(values) {
                *t = SiteValue::from(*v);
            }
            self.row(&typed[..values.len()])
        } else {
            let typed: Vec<SiteValue<'_>> = values.iter().map(|v| SiteValue::from(*v)).collect();
            self.row(&typed)
        }
    }
}

/// Sets one field from a typed value; errors are [`Error::InvalidValue`] (turned into
/// [`Error::InvalidColumn`] by the caller).
fn set_value(
    cdr: &mut Cdr,
    field: Field,
    value: &SiteValue<'_>,
    at: &dyn Fn() -> Location,
) -> Result<(), Error> {
    let is_time = matches!(
        field,
        Field::TimeStart | Field::TimeAnswered | Field::TimeEnd
    );
    let invalid = |value: String, expected: &'static str| Error::InvalidValue {
        at: at(),
        field: field.name(),
        value,
        expected,
    };
    match *value {
        SiteValue::Null => Ok(()),
        SiteValue::Time(t) if is_time => {
            set_time(cdr, field, t);
            Ok(())
        }
        SiteValue::Time(t) => Err(invalid(t.to_rfc3339(), "a text value, not a time")),
        SiteValue::Int(i) if field == Field::Duration => {
            let secs = u64::try_from(i)
                .map_err(|_| invalid(i.to_string(), "a talk time of 0 s or more"))?;
            cdr.duration = Some(Duration::from_secs(secs));
            Ok(())
        }
        SiteValue::Int(i) if is_time => Err(invalid(i.to_string(), "a time, not a number")),
        SiteValue::Int(i) => set_field(cdr, field, &i.to_string(), at),
        SiteValue::Text(raw) => {
            let raw = raw.trim();
            if is_time && !raw.is_empty() && parse_timestamp(raw).is_none() {
                let t = DateTime::parse_from_rfc3339(raw)
                    .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%#z"))
                    .map_err(|_| {
                        invalid(
                            raw.to_owned(),
                            "a UTC time like 2024/06/17 05:59:49, or a time with an offset like 2024-06-17 05:59:49+00",
                        )
                    })?;
                set_time(cdr, field, t.with_timezone(&Utc));
                return Ok(());
            }
            if field == Field::Duration
                && !raw.is_empty()
                && parse_duration(raw).is_none()
                && raw.bytes().all(|b| b.is_ascii_digit())
            {
                let secs: u64 = raw
                    .parse()
                    .map_err(|_| invalid(raw.to_owned(), "a talk time in seconds"))?;
                cdr.duration = Some(Duration::from_secs(secs));
                return Ok(());
            }
            set_field(cdr, field, raw, at)
        }
    }
}

fn set_time(cdr: &mut Cdr, field: Field, t: DateTime<Utc>) {
    match field {
        Field::TimeStart => cdr.time_start = Some(t),
        Field::TimeAnswered => cdr.time_answered = Some(t),
        _ => cdr.time_end = Some(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{PartyNumber, PartyType};
    use chrono::TimeZone;

    fn mapping(name: &str, pairs: &[(&str, &str)]) -> TableMapping {
        TableMapping {
            name: name.into(),
            columns: pairs
                .iter()
                .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
                .collect(),
        }
    }

    fn full() -> SiteTable {
        SiteTable::new(&mapping(
            "cdr",
            &[
                ("id", "row_id"),
                ("historyid", "history_id"),
                ("time-start", "started"),
                ("time-answered", "answered"),
                ("time-end", "ended"),
                ("duration", "talk"),
                ("from-no", "from_no"),
                ("to-no", "to_no"),
                ("from-type", "from_type"),
                ("final-dn", "final_dn"),
            ],
        ))
        .unwrap()
    }

    #[test]
    fn columns_come_id_first_then_in_field_order() {
        let t = full();
        let names: Vec<&str> = t.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "row_id",
                "history_id",
                "talk",
                "started",
                "answered",
                "ended",
                "from_no",
                "to_no",
                "final_dn",
                "from_type"
            ]
        );
        assert_eq!(t.id_column(), "row_id");
    }

    #[test]
    fn id_defaults_to_a_column_named_id() {
        let t = SiteTable::new(&mapping("cdr", &[("time_start", "ts")])).unwrap();
        assert_eq!(t.id_column(), "id");
        let (id, cdr) = t
            .text_row(&[Some("5"), Some("2024-06-17 05:59:49")])
            .unwrap();
        assert_eq!(id, 5);
        // No historyid/callid column: the row id identifies the call.
        assert_eq!(cdr.history_id.as_deref(), Some("5"));
    }

    #[test]
    fn bad_names_and_keys_are_refused() {
        for name in [
            "",
            "a.b.c",
            "1cdr",
            "cdr;drop",
            "c\"dr",
            "[cdr]",
            "sch.",
            &"x".repeat(64),
        ] {
            let e = SiteTable::new(&mapping(name, &[("time-start", "ts")])).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidSetting { setting, .. } if setting == "source.table"),
                "{name:?}: {e}"
            );
        }
        let e = SiteTable::new(&mapping("cdr", &[("time-start", "t s")])).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidSetting { setting, .. } if setting == "source.columns.time-start"),
            "{e}"
        );
        let e = SiteTable::new(&mapping("cdr", &[("time-start", "a.b")])).unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { .. }));
        let e =
            SiteTable::new(&mapping("cdr", &[("time-start", "ts"), ("colour", "c")])).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidSetting { setting, .. } if setting == "source.columns.colour")
        );
        let e = SiteTable::new(&mapping("cdr", &[("time-start", "a"), ("time_start", "b")]))
            .unwrap_err();
        assert!(e.to_string().contains("second time"), "{e}");
        let e = SiteTable::new(&mapping("cdr", &[("from-no", "f")])).unwrap_err();
        assert!(e.to_string().contains("time-start"), "{e}");
        assert!(is_plain_identifier("_s1.T_2", true));
        let long = "a".repeat(MAX_IDENTIFIER_LEN);
        assert!(is_plain_identifier(&long, false));
        assert!(!is_plain_identifier(&format!("{long}b"), false));
        assert!(!is_plain_identifier(&format!("s.{long}b"), true));
        for bad in ["", ".", "a.", ".a", "1a", "a-b", "a b", "ä", "a\"b", "[a]"] {
            assert!(!is_plain_identifier(bad, true), "{bad:?}");
        }
    }

    #[test]
    fn text_row_reads_every_field_like_a_cdr_line() {
        let t = full();
        let (id, cdr) = t
            .text_row(&[
                Some(" 42 "),
                Some("Call 23194"),
                Some("00:03:43"),
                Some("2020/06/29 07:56:32"),
                Some("2020-06-29 07:56:33.250+00"),
                Some("2020-06-29T10:00:16+02:00"),
                Some("0466452265"),
                Some("Ext.611"),
                Some("194"),
                Some("Line"),
            ])
            .unwrap();
        assert_eq!(id, 42);
        assert_eq!(cdr.history_id.as_deref(), Some("23194"));
        assert_eq!(cdr.duration, Some(Duration::from_secs(223)));
        let t0 = Utc.with_ymd_and_hms(2020, 6, 29, 7, 56, 32).unwrap();
        assert_eq!(cdr.time_start, Some(t0));
        assert_eq!(
            cdr.time_answered,
            Some(t0 + chrono::TimeDelta::milliseconds(1250))
        );
        assert_eq!(
            cdr.time_end,
            Some(Utc.with_ymd_and_hms(2020, 6, 29, 8, 0, 16).unwrap())
        );
        assert_eq!(cdr.from_no, Some(PartyNumber::Number("0466452265".into())));
        assert_eq!(cdr.to_no, Some(PartyNumber::Extension("611".into())));
        assert_eq!(cdr.final_dn.as_deref(), Some("194"));
        assert_eq!(cdr.from_type, Some(PartyType::ExternalLine));
    }

    #[test]
    fn typed_values_and_nulls() {
        let t = full();
        let start = Utc.with_ymd_and_hms(2024, 6, 17, 5, 59, 49).unwrap();
        let (id, cdr) = t
            .row(&[
                SiteValue::Int(7),
                SiteValue::Int(288831),
                SiteValue::Int(25),
                SiteValue::Time(start),
                SiteValue::Null,
                SiteValue::Null,
                SiteValue::Text(""),
                SiteValue::Null,
                SiteValue::Int(10020),
                SiteValue::Null,
            ])
            .unwrap();
        assert_eq!(id, 7);
        assert_eq!(cdr.history_id.as_deref(), Some("288831"));
        assert_eq!(cdr.duration, Some(Duration::from_secs(25)));
        assert_eq!(cdr.time_start, Some(start));
        assert_eq!(cdr.time_answered, None);
        assert_eq!(cdr.from_no, None);
        assert_eq!(cdr.final_dn.as_deref(), Some("10020"));
        // Whole seconds as text, too.
        let (_, cdr) = t
            .text_row(&[
                Some("8"),
                Some("1"),
                Some("61"),
                Some("2024/06/17 05:59:49"),
                None,
                None,
                None,
                None,
                None,
                None,
            ])
            .unwrap();
        assert_eq!(cdr.duration, Some(Duration::from_secs(61)));
    }

    fn row_err(values: &[Option<&str>]) -> Error {
        full().text_row(values).unwrap_err()
    }

    #[test]
    fn bad_rows_name_the_row_and_the_column() {
        let ok = [
            Some("9"),
            Some("1"),
            None,
            Some("2024/06/17 05:59:49"),
            None,
            None,
            None,
            None,
            None,
            None,
        ];
        assert!(full().text_row(&ok).is_ok());

        let mut v = ok;
        v[3] = None;
        let e = row_err(&v);
        assert!(
            matches!(&e, Error::InvalidColumn { at: Location::Row(id), column, field: "time-start", value: None, .. } if id == "9" && &**column == "started"),
            "{e:?}"
        );
        v[3] = Some("  ");
        assert!(matches!(
            row_err(&v),
            Error::InvalidColumn {
                field: "time-start",
                ..
            }
        ));
        v[3] = Some("yesterday");
        let e = row_err(&v);
        assert!(
            matches!(&e, Error::InvalidColumn { column, value: Some(val), .. } if &**column == "started" && val == "yesterday"),
            "{e:?}"
        );
        assert_eq!(e.location(), Some(&Location::Row("9".into())));

        let mut v = ok;
        v[2] = Some("3 minutes");
        let e = row_err(&v);
        assert!(
            matches!(&e, Error::InvalidColumn { column, field: "duration", .. } if &**column == "talk"),
            "{e}"
        );

        let mut v = ok;
        v[1] = None;
        let e = row_err(&v);
        assert!(
            matches!(&e, Error::InvalidColumn { column, field: "historyid", value: None, .. } if &**column == "history_id"),
            "{e}"
        );

        let mut v = ok;
        v[0] = None;
        let e = row_err(&v);
        assert!(
            matches!(&e, Error::InvalidColumn { at: Location::Unknown, column, field: "id", .. } if &**column == "row_id"),
            "{e}"
        );
        v[0] = Some("abc");
        assert!(matches!(
            row_err(&v),
            Error::InvalidColumn {
                field: "id",
                value: Some(_),
                ..
            }
        ));

        let e = full().text_row(&ok[..3]).unwrap_err();
        assert!(matches!(
            e,
            Error::FieldCount {
                expected: 10,
                found: 3,
                ..
            }
        ));

        let e = full()
            .row(&[
                SiteValue::Int(3),
                SiteValue::Int(1),
                SiteValue::Int(-5),
                SiteValue::Time(Utc::now()),
                SiteValue::Int(4),
                SiteValue::Null,
                SiteValue::Null,
                SiteValue::Null,
                SiteValue::Null,
                SiteValue::Null,
            ])
            .unwrap_err();
        assert!(
            matches!(
                &e,
                Error::InvalidColumn {
                    field: "duration",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn either_history_or_call_id_suffices() {
        let t = SiteTable::new(&mapping(
            "cdr",
            &[("historyid", "h"), ("callid", "c"), ("time-start", "s")],
        ))
        .unwrap();
        let s = Some("2024/06/17 05:59:49");
        assert!(t.text_row(&[Some("1"), None, Some("abc_1"), s]).is_ok());
        assert!(t.text_row(&[Some("1"), Some("9"), None, s]).is_ok());
        let e = t.text_row(&[Some("1"), None, None, s]).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidColumn { column, .. } if &**column == "h"),
            "{e}"
        );
    }

    #[test]
    fn all_27_fields_can_be_mapped() {
        let pairs: Vec<(String, String)> = Field::ALL
            .iter()
            .map(|f| (f.name().to_owned(), f.name().replace('-', "_")))
            .collect();
        let m = TableMapping {
            name: "cdr".into(),
            columns: pairs.into_iter().collect(),
        };
        let t = SiteTable::new(&m).unwrap();
        assert_eq!(t.columns().len(), 28);
        let mut values = vec![None; 28];
        values[0] = Some("1");
        values[1] = Some("Call 1");
        values[4] = Some("2024/06/17 05:59:49");
        assert!(t.text_row(&values).is_ok());
    }
}
