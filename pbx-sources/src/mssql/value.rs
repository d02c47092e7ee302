//! SQL Server values → [`SiteValue`]s for pbx-core's site-table mapping.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use pbx_core::cdr::SiteValue;
use tiberius::{ColumnData, FromSql};

/// One cell, owned, in the shape pbx-core reads.
#[derive(Debug)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(Cow<'static, str>),
    Time(DateTime<Utc>),
    /// A type no CDR field can hold (binary, XML, …): its SQL type name.
    Unreadable(&'static str),
}

impl Cell {
    /// Converts one column value. Integers stay integers; `datetime`, `smalldatetime` and
    /// `datetime2` are taken as UTC (3CX writes UTC), `datetimeoffset` is converted to UTC;
    /// decimals, floats, GUIDs, bits and `date`/`time` are read as their text.
    pub(crate) fn from_column(data: ColumnData<'static>) -> Cell {
        match data {
            ColumnData::U8(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
            ColumnData::I16(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
            ColumnData::I32(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
            ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Int),
            ColumnData::Bit(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
            ColumnData::String(v) => v.map_or(Cell::Null, Cell::Text),
            ColumnData::F32(v) => text(v),
            ColumnData::F64(v) => text(v),
            ColumnData::Guid(v) => text(v),
            ColumnData::Numeric(v) => text(v),
            ColumnData::Binary(v) => unreadable(v.is_none(), "binary"),
            ColumnData::Xml(v) => unreadable(v.is_none(), "xml"),
            ref d @ (ColumnData::DateTime(_)
            | ColumnData::SmallDateTime(_)
            | ColumnData::DateTime2(_)) => match NaiveDateTime::from_sql(d) {
                Ok(Some(t)) => Cell::Time(t.and_utc()),
                Ok(None) => Cell::Null,
                Err(_) => Cell::Unreadable("datetime out of range"),
            },
            // Read with its offset, then converted: the wire value is UTC plus an offset, and
            // tiberius 0.13's direct `DateTime<Utc>` reading subtracts the offset a second time.
            ref d @ ColumnData::DateTimeOffset(_) => match DateTime::<FixedOffset>::from_sql(d) {
                Ok(Some(t)) => Cell::Time(t.with_timezone(&Utc)),
                Ok(None) => Cell::Null,
                Err(_) => Cell::Unreadable("datetimeoffset out of range"),
            },
            ref d @ ColumnData::Date(_) => match chrono::NaiveDate::from_sql(d) {
                Ok(v) => text(v),
                Err(_) => Cell::Unreadable("date out of range"),
            },
            ref d @ ColumnData::Time(_) => match chrono::NaiveTime::from_sql(d) {
                Ok(v) => text(v),
                Err(_) => Cell::Unreadable("time out of range"),
            },
        }
    }

    /// The value pbx-core reads (an unreadable cell is handed on as NULL; the caller reports
    /// it before that matters).
    pub(crate) fn site_value(&self) -> SiteValue<'_> {
        match self {
            Cell::Null | Cell::Unreadable(_) => SiteValue::Null,
            Cell::Int(i) => SiteValue::Int(*i),
            Cell::Text(s) => SiteValue::Text(s),
            Cell::Time(t) => SiteValue::Time(*t),
        }
    }
}

fn text<T: ToString>(v: Option<T>) -> Cell {
    v.map_or(Cell::Null, |v| Cell::Text(Cow::Owned(v.to_string())))
}

fn unreadable(null: bool, ty: &'static str) -> Cell {
    if null {
        Cell::Null
    } else {
        Cell::Unreadable(ty)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use tiberius::IntoSql;

    use super::*;

    #[test]
    fn integers_text_and_times() {
        assert!(matches!(
            Cell::from_column(ColumnData::I32(Some(-4))),
            Cell::Int(-4)
        ));
        assert!(matches!(
            Cell::from_column(ColumnData::I64(None)),
            Cell::Null
        ));
        let c = Cell::from_column(ColumnData::String(Some("Ext.101".into())));
        assert_eq!(c.site_value(), SiteValue::Text("Ext.101"));
        let t = Utc.with_ymd_and_hms(2024, 6, 17, 5, 59, 49).unwrap();
        let c = Cell::from_column(t.naive_utc().into_sql());
        assert_eq!(c.site_value(), SiteValue::Time(t));
        let offset = chrono::FixedOffset::east_opt(7200).unwrap();
        let c = Cell::from_column(t.with_timezone(&offset).into_sql());
        assert_eq!(c.site_value(), SiteValue::Time(t));
        assert!(matches!(
            Cell::from_column(ColumnData::Binary(Some(vec![1u8].into()))),
            Cell::Unreadable("binary")
        ));
        assert!(matches!(
            Cell::from_column(ColumnData::F64(Some(1.5))),
            Cell::Text(ref s) if s == "1.5"
        ));
    }
}
