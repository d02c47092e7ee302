//! Writing a [`Cdr`] back out as a CDR line (the inverse of the parser).

use super::field::{Field, FieldTemplate};
use super::record::Cdr;
use super::value::{format_duration, format_timestamp};

/// Formats `cdr` as one CDR line laid out as `template` (no line ending), quoting fields as
/// RFC 4180 requires (by `csv-core`). Parsing the result with the same template gives `cdr`
/// back, except that fractions of seconds are dropped and `Chain:` is written for the chain.
/// As 3CX does, the line starts with `Call ` whatever the template's first field is.
///
/// ```
/// use pbx_core::cdr::{format_line, CdrParser, FieldTemplate};
/// let t: FieldTemplate = "historyid,from-dispname,duration".parse()?;
/// let cdr = CdrParser::new(t.clone()).parse_line(1, r#"Call 7,"Smith, John",00:01:00"#)?;
/// assert_eq!(format_line(&cdr, &t), r#"Call 7,"Smith, John",00:01:00"#);
/// let t: FieldTemplate = "time-start,historyid".parse()?;
/// let cdr = CdrParser::new(t.clone()).parse_line(1, "Call 2024/09/09 02:06:33,7")?;
/// assert_eq!(format_line(&cdr, &t), "Call 2024/09/09 02:06:33,7");
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn format_line(cdr: &Cdr, template: &FieldTemplate) -> String {
    let mut writer = csv_core::Writer::new();
    let mut line = Vec::with_capacity(256);
    for (i, &field) in template.fields().iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        let mut text = field_text(cdr, field);
        if i == 0 {
            text.insert_str(0, "Call ");
        }
        // Worst case every byte is a quote (doubled) plus the two enclosing quotes.
        let mut out = vec![0u8; text.len() * 2 + 2];
        let (_, _, n) = writer.field(text.as_bytes(), &mut out);
        let mut used = n;
        let (_, n) = writer.delimiter(&mut out[used..]);
        used += n;
        // `delimiter` closes an open quote and writes the comma; keep all but that comma.
        line.extend_from_slice(&out[..used - 1]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

fn field_text(cdr: &Cdr, field: Field) -> String {
    fn s(v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn d<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map(T::to_string).unwrap_or_default()
    }
    match field {
        Field::HistoryId => s(&cdr.history_id),
        Field::CallId => s(&cdr.call_id),
        Field::Duration => cdr.duration.map(format_duration).unwrap_or_default(),
        Field::TimeStart => cdr.time_start.map(format_timestamp).unwrap_or_default(),
        Field::TimeAnswered => cdr.time_answered.map(format_timestamp).unwrap_or_default(),
        Field::TimeEnd => cdr.time_end.map(format_timestamp).unwrap_or_default(),
        Field::ReasonTerminated => d(&cdr.reason_terminated),
        Field::FromNo => d(&cdr.from_no),
        Field::ToNo => d(&cdr.to_no),
        Field::FromDn => s(&cdr.from_dn),
        Field::ToDn => s(&cdr.to_dn),
        Field::DialNo => d(&cdr.dial_no),
        Field::ReasonChanged => d(&cdr.reason_changed),
        Field::FinalNumber => d(&cdr.final_number),
        Field::FinalDn => s(&cdr.final_dn),
        Field::BillCode => s(&cdr.bill_code),
        Field::BillRate => s(&cdr.bill_rate),
        Field::BillCost => s(&cdr.bill_cost),
        Field::BillName => s(&cdr.bill_name),
        Field::Chain => {
            if cdr.chain.is_empty() {
                String::new()
            } else {
                let mut c = String::from("Chain: ");
                for p in &cdr.chain {
                    c.push_str(&p.to_string());
                    c.push(';');
                }
                c
            }
        }
        Field::FromType => d(&cdr.from_type),
        Field::ToType => d(&cdr.to_type),
        Field::FinalType => d(&cdr.final_type),
        Field::FromDispname => s(&cdr.from_dispname),
        Field::ToDispname => s(&cdr.to_dispname),
        Field::FinalDispname => s(&cdr.final_dispname),
        Field::MissedQueueCalls => s(&cdr.missed_queue_calls),
    }
}
