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
//! parameters, so no value is ever part of the SQL text. A backfill adds its range on the
//! `time-start` column ([`range_select`]: `@P3`, `@P4`, `datetime2`).

use pbx_core::cdr::{Field, SiteField, SiteTable};

use crate::sql::SqlName;

/// The statement for `table`: placeholders `@P1` = page size, `@P2` = last id.
///
/// # Errors
/// A name that is not a plain identifier (never for a [`SiteTable`], which checked them).
pub(crate) fn keyset_select(table: &SiteTable) -> Result<String, pbx_core::Error> {
    select(table, false)
}

/// The statement for `table` narrowed to a time range on its `time-start` column:
/// placeholders as [`keyset_select`]'s, plus `@P3` = the range's start and `@P4` = its end
/// (`datetime2`, UTC). A row whose start is NULL is read too (the engine decides by its end).
///
/// ```sql
/// SELECT TOP (@P1) [id], [ts], … FROM [t] WHERE [id] > @P2
///   AND (([ts] >= @P3 AND [ts] < @P4) OR [ts] IS NULL) ORDER BY [id]
/// ```
///
/// # Errors
/// As [`keyset_select`].
pub(crate) fn range_select(table: &SiteTable) -> Result<String, pbx_core::Error> {
    select(table, true)
}

fn select(table: &SiteTable, narrowed: bool) -> Result<String, pbx_core::Error> {
    let id = SqlName::column(table.id_column())?.quoted('[', ']');
    let mut range = String::new();
    let columns = table
        .columns()
        .iter()
        .map(|c| {
            let name = SqlName::column(&c.name)?.quoted('[', ']');
            if narrowed && c.field == SiteField::Cdr(Field::TimeStart) {
                range = format!(" AND (({name} >= @P3 AND {name} < @P4) OR {name} IS NULL)");
            }
            Ok(name)
        })
        .collect::<Result<Vec<String>, pbx_core::Error>>()?;
    Ok(format!(
        "SELECT TOP (@P1) {} FROM {} WHERE {id} > @P2{range} ORDER BY {id}",
        columns.join(", "),
        SqlName::table(table.table())?.quoted('[', ']'),
    ))
}

/// The position of the `time-start` column in the statements' select list.
pub(crate) fn start_column(table: &SiteTable) -> Option<usize> {
    table
        .columns()
        .iter()
        .position(|c| c.field == SiteField::Cdr(Field::TimeStart))
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
    fn the_range_is_two_parameters_on_the_start_column() {
        let t = table(
            "dbo.CallLog",
            &[
                ("id", "CdrId"),
                ("time-start", "Started"),
                ("to-no", "Callee"),
            ],
        )
        .unwrap();
        assert_eq!(
            range_select(&t).unwrap(),
            "SELECT TOP (@P1) [CdrId], [Started], [Callee] FROM [dbo].[CallLog] WHERE [CdrId] > @P2 \
             AND (([Started] >= @P3 AND [Started] < @P4) OR [Started] IS NULL) ORDER BY [CdrId]"
        );
        assert_eq!(start_column(&t), Some(1));
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
