//! The keyset query for a site table on SQL Server.
//!
//! ```sql
//! SELECT TOP (@P1) [id], [col], … FROM [schema].[table] WHERE [id] > @P2 ORDER BY [id]
//! ```
//!
//! Names come from [`SiteTable`], which admits only plain identifiers (ASCII letters, digits
//! and `_`), and are quoted by [`SqlName`] (which checks them again), so bracket-quoting them
//! cannot change their meaning. `@P1` is the page size and
//! `@P2` the last id handed out, both `bigint`; tiberius sends them as `sp_executesql`
//! parameters, so no value is ever part of the SQL text.

use pbx_core::cdr::SiteTable;

use crate::sql::SqlName;

/// The statement for `table`: placeholders `@P1` = page size, `@P2` = last id.
///
/// # Errors
/// A name that is not a plain identifier (never for a [`SiteTable`], which checked them).
pub(crate) fn keyset_select(table: &SiteTable) -> Result<String, pbx_core::Error> {
    let id = SqlName::column(table.id_column())?.quoted('[', ']');
    let columns = table
        .columns()
        .iter()
        .map(|c| Ok(SqlName::column(&c.name)?.quoted('[', ']')))
        .collect::<Result<Vec<String>, pbx_core::Error>>()?;
    Ok(format!(
        "SELECT TOP (@P1) {} FROM {} WHERE {id} > @P2 ORDER BY {id}",
        columns.join(", "),
        SqlName::table(table.table())?.quoted('[', ']'),
    ))
}

#[cfg(test)]
mod tests {
    use pbx_core::config::TableMapping;

    use super::*;

    fn table(name: &str, columns: &[(&str, &str)]) -> Result<SiteTable, pbx_core::Error> {
        SiteTable::new(&TableMapping {
            name: name.into(),
            columns: columns
                .iter()
                .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
                .collect(),
        })
    }

    #[test]
    fn every_name_is_bracket_quoted_and_no_value_is_in_the_text() {
        let t = table(
            "dbo.CallLog",
            &[
                ("id", "CdrId"),
                ("time-start", "started"),
                ("from-no", "caller"),
            ],
        )
        .unwrap();
        assert_eq!(
            keyset_select(&t).unwrap(),
            "SELECT TOP (@P1) [CdrId], [started], [caller] FROM [dbo].[CallLog] WHERE [CdrId] > @P2 ORDER BY [CdrId]"
        );
        let t = table("cdr", &[("time-start", "ts")]).unwrap();
        assert_eq!(
            keyset_select(&t).unwrap(),
            "SELECT TOP (@P1) [id], [ts] FROM [cdr] WHERE [id] > @P2 ORDER BY [id]"
        );
    }

    #[test]
    fn names_that_could_change_the_statement_never_reach_it() {
        for name in [
            "cdr; DROP TABLE cdr",
            "cdr]; DROP TABLE cdr--",
            "[cdr]",
            "a.b.c",
            "cdr--",
            "cdr/*",
        ] {
            assert!(table(name, &[("time-start", "ts")]).is_err(), "{name}");
        }
        for column in ["ts]--", "a b", "x'y", "@P2", "ts) OR (1=1"] {
            assert!(table("cdr", &[("time-start", column)]).is_err(), "{column}");
            assert!(
                table("cdr", &[("time-start", "ts"), ("id", column)]).is_err(),
                "{column}"
            );
        }
    }
}
