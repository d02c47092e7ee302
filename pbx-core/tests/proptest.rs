//! Properties: the parser never panics, and formatting then parsing gives the record back.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pbx_core::cdr::{
    Cdr, CdrParser, ChangeReason, Field, FieldTemplate, PartyNumber, PartyType, TerminationReason,
    format_line, parse_lines,
};
use proptest::prelude::*;

fn template() -> impl Strategy<Value = FieldTemplate> {
    prop_oneof![
        Just(FieldTemplate::v20_27()),
        Just(FieldTemplate::v16_20()),
        proptest::sample::subsequence(Field::ALL.to_vec(), 1..=27)
            .prop_shuffle()
            .prop_map(|mut f| {
                // A template must identify the call: without either id it is refused.
                if !f.contains(&Field::HistoryId) && !f.contains(&Field::CallId) {
                    f.push(Field::HistoryId);
                }
                FieldTemplate::new(f).expect("distinct fields with an id")
            }),
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    // Commas, quotes, semicolons and non-ASCII letters, but no line breaks and no padding
    // (the parser trims white space around fields).
    proptest::option::of("[A-Za-z0-9]([A-Za-z0-9 ,\"'.;:ÅäöéñЖ漢-]{0,12}[A-Za-z0-9])?")
}

fn number() -> impl Strategy<Value = Option<PartyNumber>> {
    proptest::option::of(prop_oneof![
        "[0-9]{2,5}".prop_map(PartyNumber::Extension),
        "\\+?[0-9]{3,15}".prop_map(PartyNumber::Number),
        Just(PartyNumber::Special("EndCall".into())),
    ])
}

fn time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    proptest::option::of((0i64..4_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()))
}

fn kind() -> impl Strategy<Value = Option<PartyType>> {
    proptest::option::of(proptest::sample::select(vec![
        PartyType::Extension,
        PartyType::ExternalLine,
        PartyType::OutboundRule,
        PartyType::Queue,
        PartyType::RingGroup,
        PartyType::Ivr,
        PartyType::Voicemail,
        PartyType::Script,
        PartyType::Fax,
        PartyType::Other("Conference".into()),
    ]))
}

fn cdr() -> impl Strategy<Value = Cdr> {
    let ids = (
        proptest::option::of("[0-9]{1,9}"),
        proptest::option::of("[0-9A-F]{16}_[0-9]{1,5}"),
        proptest::option::of((0u64..400_000).prop_map(Duration::from_secs)),
        time(),
        time(),
        time(),
    );
    let parties = (
        number(),
        number(),
        number(),
        number(),
        text(),
        text(),
        text(),
    );
    let more = (
        proptest::option::of(proptest::sample::select(vec![
            TerminationReason::TerminatedBySource,
            TerminationReason::TerminatedByDestination,
            TerminationReason::Failed,
            TerminationReason::Cancelled,
            TerminationReason::NoRoute,
            TerminationReason::Busy,
            TerminationReason::Other("odd_reason".into()),
        ])),
        proptest::option::of(proptest::sample::select(vec![
            ChangeReason::ReplacedDestination,
            ChangeReason::ReplacedSource,
        ])),
        proptest::collection::vec(number().prop_filter_map("some", |n| n), 0..5),
        kind(),
        kind(),
        kind(),
        (text(), text(), text(), text()),
    );
    (ids, parties, more).prop_map(|(ids, parties, more)| {
        let (history_id, call_id, duration, time_start, time_answered, time_end) = ids;
        let (from_no, to_no, dial_no, final_number, from_dn, to_dn, final_dn) = parties;
        let (reason_terminated, reason_changed, chain, from_type, to_type, final_type, names) =
            more;
        Cdr {
            history_id,
            call_id,
            duration,
            time_start,
            time_answered,
            time_end,
            reason_terminated,
            from_no,
            to_no,
            from_dn,
            to_dn,
            dial_no,
            reason_changed,
            final_number,
            final_dn,
            bill_code: names.0.clone(),
            bill_rate: None,
            bill_cost: None,
            bill_name: names.1,
            chain,
            from_type,
            to_type,
            final_type,
            from_dispname: names.2,
            to_dispname: names.3,
            final_dispname: None,
            missed_queue_calls: None,
        }
    })
}

/// What a template can carry of a record: the other fields come back empty.
fn restrict(cdr: &Cdr, t: &FieldTemplate) -> Cdr {
    let mut out = Cdr::default();
    for f in t.fields() {
        match f {
            Field::HistoryId => out.history_id.clone_from(&cdr.history_id),
            Field::CallId => out.call_id.clone_from(&cdr.call_id),
            Field::Duration => out.duration = cdr.duration,
            Field::TimeStart => out.time_start = cdr.time_start,
            Field::TimeAnswered => out.time_answered = cdr.time_answered,
            Field::TimeEnd => out.time_end = cdr.time_end,
            Field::ReasonTerminated => out.reason_terminated.clone_from(&cdr.reason_terminated),
            Field::FromNo => out.from_no.clone_from(&cdr.from_no),
            Field::ToNo => out.to_no.clone_from(&cdr.to_no),
            Field::FromDn => out.from_dn.clone_from(&cdr.from_dn),
            Field::ToDn => out.to_dn.clone_from(&cdr.to_dn),
            Field::DialNo => out.dial_no.clone_from(&cdr.dial_no),
            Field::ReasonChanged => out.reason_changed.clone_from(&cdr.reason_changed),
            Field::FinalNumber => out.final_number.clone_from(&cdr.final_number),
            Field::FinalDn => out.final_dn.clone_from(&cdr.final_dn),
            Field::BillCode => out.bill_code.clone_from(&cdr.bill_code),
            Field::BillRate => out.bill_rate.clone_from(&cdr.bill_rate),
            Field::BillCost => out.bill_cost.clone_from(&cdr.bill_cost),
            Field::BillName => out.bill_name.clone_from(&cdr.bill_name),
            Field::Chain => out.chain.clone_from(&cdr.chain),
            Field::FromType => out.from_type.clone_from(&cdr.from_type),
            Field::ToType => out.to_type.clone_from(&cdr.to_type),
            Field::FinalType => out.final_type.clone_from(&cdr.final_type),
            Field::FromDispname => out.from_dispname.clone_from(&cdr.from_dispname),
            Field::ToDispname => out.to_dispname.clone_from(&cdr.to_dispname),
            Field::FinalDispname => out.final_dispname.clone_from(&cdr.final_dispname),
            Field::MissedQueueCalls => out.missed_queue_calls.clone_from(&cdr.missed_queue_calls),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_bytes(t in template(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let p = CdrParser::new(t);
        let _ = p.parse_bytes(1, &bytes);
        for (_, r) in parse_lines(&p, &bytes) {
            let _ = r;
        }
    }

    #[test]
    fn parser_never_panics_on_near_cdr_text(
        t in template(),
        fields in proptest::collection::vec("[0-9A-Za-z:/. ;\"_+-]{0,20}", 0..40),
    ) {
        let p = CdrParser::new(t);
        let _ = p.parse_line(1, &fields.join(","));
    }

    #[test]
    fn format_then_parse_round_trips(t in template(), cdr in cdr()) {
        let line = format_line(&cdr, &t);
        prop_assert!(!line.contains('\n'));
        // A record whose only field is empty is an empty line: nothing to read back.
        prop_assume!(!line.trim().is_empty());
        let parsed = CdrParser::new(t.clone()).parse_line(1, &line);
        prop_assert_eq!(parsed, Ok(restrict(&cdr, &t)), "line: {}", line);
    }

    /// Lines without quotes take a fast split; quoting every field must change nothing.
    #[test]
    fn quoting_every_field_changes_nothing(
        t in template(),
        fields in proptest::collection::vec("[0-9A-Za-z:/. ;_+-]{0,20}", 1..30),
    ) {
        let p = CdrParser::new(t);
        let plain = fields.join(",");
        // A lone empty field is a blank line unquoted, one empty field quoted.
        prop_assume!(!plain.trim().is_empty());
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        prop_assert_eq!(p.parse_line(1, &plain), p.parse_line(1, &quoted.join(",")));
    }
}
