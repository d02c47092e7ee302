//! SQL names for the database adapters (`postgres`, `mssql`): a table or
//! column name checked to be a plain identifier, then quoted for the server's dialect.
//!
//! The check is pbx-core's ([`pbx_core::cdr::check_identifier`]: ASCII letters, digits and
//! `_`, starting with a letter or `_`, at most 63 long; `schema.table` for tables), the same one
//! the configuration's validation and [`SiteTable`](pbx_core::cdr::SiteTable) use. Quoting
//! lives here, next to the SQL it goes into: the core never writes SQL.

use std::fmt;

use pbx_core::cdr::check_identifier;

/// A validated SQL name: `name`, or `schema.name` for a table. Every part is a plain
/// identifier ([`pbx_core::cdr::is_plain_identifier`]), so quoting it can never change its
/// meaning.
///
/// ```
/// use pbx_sources::sql::SqlName;
/// let t = SqlName::table("dbo.CallLog")?;
/// assert_eq!(t.parts(), ["dbo", "CallLog"]);
/// assert_eq!(t.quoted('[', ']'), "[dbo].[CallLog]");
/// assert_eq!(SqlName::column("started")?.quoted('"', '"'), r#""started""#);
/// assert!(SqlName::table("x; DROP TABLE y").is_err());
/// assert!(SqlName::column("a.b").is_err());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SqlName {
    text: String,
    parts: Vec<String>,
}

impl SqlName {
    /// A table name: `table` or `schema.table`.
    ///
    /// # Errors
    /// [`pbx_core::Error::InvalidSetting`] (setting `source.table`) when it is not such a name.
    pub fn table(name: &str) -> Result<SqlName, pbx_core::Error> {
        Self::parse(name, true, "source.table")
    }

    /// A column (or schema) name: one part.
    ///
    /// # Errors
    /// [`pbx_core::Error::InvalidSetting`] (setting `source.columns`) when it is not a plain
    /// identifier.
    pub fn column(name: &str) -> Result<SqlName, pbx_core::Error> {
        Self::parse(name, false, "source.columns")
    }

    fn parse(name: &str, qualified: bool, setting: &str) -> Result<SqlName, pbx_core::Error> {
        check_identifier(name, qualified, setting)?;
        Ok(SqlName {
            text: name.to_owned(),
            parts: name.split('.').map(str::to_owned).collect(),
        })
    }

    /// The name as written (`schema.table`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its parts (one, or schema and table).
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Each part enclosed in `open`/`close`, joined by `.`: `"public"."cdr"` (PostgreSQL,
    /// `'"', '"'`) or `[dbo].[cdr]` (SQL Server, `'[', ']'`). Safe because the parts hold no
    /// quote characters.
    pub fn quoted(&self, open: char, close: char) -> String {
        let mut out = String::with_capacity(self.text.len() + 4 * self.parts.len());
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push(open);
            out.push_str(p);
            out.push(close);
        }
        out
    }
}

impl fmt::Display for SqlName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_accepted_and_each_part_is_quoted() {
        let t = SqlName::table("public.call_log").unwrap();
        assert_eq!(t.quoted('"', '"'), r#""public"."call_log""#);
        assert_eq!(t.to_string(), "public.call_log");
        assert_eq!(t.as_str(), "public.call_log");
        assert_eq!(SqlName::table("cdr").unwrap().quoted('[', ']'), "[cdr]");
        for bad in ["", "a.b.c", "cdr]--", "\"cdr\"", "a b", "1st", "x'y"] {
            let e = SqlName::table(bad).unwrap_err();
            assert!(
                matches!(&e, pbx_core::Error::InvalidSetting { setting, value, .. }
                    if setting == "source.table" && value == bad),
                "{bad:?}: {e}"
            );
        }
        let e = SqlName::column("a.b").unwrap_err();
        assert!(e.to_string().contains("source.columns"), "{e}");
    }
}
