//! The CDR text line parser: templates, RFC 4180 splitting, field values, errors.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use pbx_core::cdr::{
    CdrParser, ChangeReason, Field, FieldTemplate, PartyNumber, PartyType, TerminationReason,
    parse_lines,
};
use pbx_core::{Error, Location};

const V16_ANSWERED: &str = "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,,,,,Chain: 0466452265;Ext.611;Ext.194;";
const V16_MISSED: &str = "Call 23219,00000172FF3328E8_4479,,2020/06/29 08:30:42,,2020/06/29 08:30:50,Failed_Cancelled,Ext.195,Ext.196,195,196,196,,,,,,,,";
const V20_OUTBOUND: &str = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,,+46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,Line,Backup no2,+46703014082,+46703014082,";

fn v16() -> CdrParser {
    CdrParser::new(FieldTemplate::v16_20())
}

fn parser(template: &str) -> CdrParser {
    CdrParser::new(template.parse().expect("template"))
}

#[test]
fn template_presets_and_lists() {
    assert_eq!(FieldTemplate::v20_27().fields(), &Field::ALL);
    assert_eq!(FieldTemplate::v16_20().fields().last(), Some(&Field::Chain));
    assert_eq!(
        "27".parse::<FieldTemplate>().unwrap(),
        FieldTemplate::v20_27()
    );
    assert_eq!(
        " 20 ".parse::<FieldTemplate>().unwrap(),
        FieldTemplate::v16_20()
    );
    let t: FieldTemplate = "callid, TimeStart,from_no,MISSED-QUEUE-CALLS"
        .parse()
        .unwrap();
    assert_eq!(
        t.fields(),
        &[
            Field::CallId,
            Field::TimeStart,
            Field::FromNo,
            Field::MissedQueueCalls
        ]
    );
    assert_eq!(
        t.to_string(),
        "callid,time-start,from-no,missed-queue-calls"
    );
    // The UI default that puts missed-queue-calls right after chain.
    let mut alt: Vec<Field> = Field::ALL[..20].to_vec();
    alt.push(Field::MissedQueueCalls);
    alt.extend_from_slice(&Field::ALL[20..26]);
    assert_eq!(FieldTemplate::new(alt).unwrap().len(), 27);
    // Every field's name reads back as the field.
    for f in Field::ALL {
        assert_eq!(f.name().parse::<Field>().unwrap(), f);
    }
}

#[test]
fn template_errors_name_the_problem() {
    let e = "historyid,colour".parse::<FieldTemplate>().unwrap_err();
    assert_eq!(
        e,
        Error::UnknownField {
            name: "colour".into()
        }
    );
    assert!(e.to_string().contains("\"colour\""));
    let e = "callid,CallId".parse::<FieldTemplate>().unwrap_err();
    assert!(
        e.to_string().contains("`callid` appears more than once"),
        "{e}"
    );
    assert!("".parse::<FieldTemplate>().is_err());
    assert!(FieldTemplate::from_names(Vec::<String>::new()).is_err());
}

#[test]
fn v16_answered_line() {
    let cdr = v16().parse_line(1, V16_ANSWERED).unwrap();
    assert_eq!(cdr.history_id.as_deref(), Some("23194"));
    assert_eq!(cdr.call_id.as_deref(), Some("00000172FF13E364_4449"));
    assert_eq!(cdr.duration, Some(Duration::from_secs(223)));
    assert_eq!(
        cdr.time_start,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 7, 56, 32).unwrap())
    );
    assert_eq!(
        cdr.time_answered,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 7, 56, 33).unwrap())
    );
    assert_eq!(
        cdr.time_end,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 8, 0, 16).unwrap())
    );
    assert_eq!(
        cdr.reason_terminated,
        Some(TerminationReason::TerminatedBySource)
    );
    assert_eq!(cdr.from_no, Some(PartyNumber::Number("0466452265".into())));
    assert_eq!(cdr.to_no, Some(PartyNumber::Extension("611".into())));
    assert_eq!(cdr.from_dn.as_deref(), Some("10000"));
    assert_eq!(cdr.to_dn.as_deref(), Some("611"));
    assert_eq!(cdr.dial_no, Some(PartyNumber::Number("611".into())));
    assert_eq!(cdr.reason_changed, Some(ChangeReason::ReplacedDestination));
    assert_eq!(cdr.final_number, Some(PartyNumber::Extension("194".into())));
    assert_eq!(cdr.final_dn.as_deref(), Some("194"));
    assert_eq!(cdr.bill_code, None);
    assert_eq!(
        cdr.chain,
        vec![
            PartyNumber::Number("0466452265".into()),
            PartyNumber::Extension("611".into()),
            PartyNumber::Extension("194".into()),
        ]
    );
    assert_eq!(cdr.from_type, None);
    assert!(cdr.is_answered());
    assert_eq!(cdr.talk_seconds(), 223);
}

#[test]
fn v16_missed_line_is_unanswered() {
    let cdr = v16().parse_line(2, V16_MISSED).unwrap();
    assert_eq!(cdr.duration, None);
    assert_eq!(cdr.time_answered, None);
    assert!(!cdr.is_answered());
    assert_eq!(cdr.talk_seconds(), 0);
    assert_eq!(cdr.reason_terminated, Some(TerminationReason::Cancelled));
    assert!(cdr.chain.is_empty());
}

#[test]
fn v20_line_with_trailing_comma_and_types() {
    let cdr = CdrParser::default().parse_line(1, V20_OUTBOUND).unwrap();
    assert_eq!(cdr.from_type, Some(PartyType::Extension));
    assert_eq!(cdr.to_type, Some(PartyType::ExternalLine));
    assert_eq!(cdr.final_type, Some(PartyType::ExternalLine));
    assert_eq!(cdr.bill_code.as_deref(), Some("default"));
    assert_eq!(cdr.bill_rate.as_deref(), Some("1"));
    assert_eq!(cdr.bill_cost.as_deref(), Some("0.43"));
    assert_eq!(cdr.from_dispname.as_deref(), Some("Backup no2"));
    assert_eq!(cdr.missed_queue_calls, None);
    assert_eq!(cdr.talk_seconds(), 25);
    // The example's last comma opens the (empty) 27th field; one more trailing comma, as some
    // builds write, is an empty 28th slot and is ignored.
    let trailing = format!("{V20_OUTBOUND},");
    assert_eq!(CdrParser::default().parse_line(1, &trailing).unwrap(), cdr);
    let short = V20_OUTBOUND.strip_suffix(',').unwrap();
    assert!(matches!(
        CdrParser::default().parse_line(1, short),
        Err(Error::FieldCount {
            expected: 27,
            found: 26,
            ..
        })
    ));
}

#[test]
fn line_endings_crlf_lf_and_cr() {
    let p = v16();
    let base = p.parse_line(1, V16_ANSWERED).unwrap();
    for ending in ["\r\n", "\n", "\r"] {
        let line = format!("{V16_ANSWERED}{ending}");
        assert_eq!(p.parse_line(1, &line).unwrap(), base, "ending {ending:?}");
    }
}

#[test]
fn rfc4180_quoting() {
    let p = parser("historyid,from-no,from-dispname,to-dispname,chain");
    let cdr = p
        .parse_line(
            1,
            r#""Call 5","(907) 555-0175","Smith, John","He said ""hi""","Chain: 9075550175;Ext.101;""#,
        )
        .unwrap();
    assert_eq!(cdr.history_id.as_deref(), Some("5"));
    assert_eq!(
        cdr.from_no,
        Some(PartyNumber::Number("(907) 555-0175".into()))
    );
    assert_eq!(cdr.from_dispname.as_deref(), Some("Smith, John"));
    assert_eq!(cdr.to_dispname.as_deref(), Some(r#"He said "hi""#));
    assert_eq!(cdr.chain.len(), 2);
}

#[test]
fn non_utf8_is_decoded_lossily() {
    let p = parser("historyid,from-dispname,to-dispname");
    let cdr = p.parse_bytes(3, b"Call 1,Ren\xe9 \xc5sa,\xff\xfe").unwrap();
    assert_eq!(cdr.from_dispname.as_deref(), Some("Ren\u{fffd} \u{fffd}sa"));
    assert_eq!(cdr.to_dispname.as_deref(), Some("\u{fffd}\u{fffd}"));
    // Valid UTF-8 stays as it is.
    let cdr = p.parse_line(3, "Call 1,Åsa Lindström,José Peña").unwrap();
    assert_eq!(cdr.from_dispname.as_deref(), Some("Åsa Lindström"));
}

#[test]
fn prefixes_and_specials() {
    let p = parser("historyid,from-no,to-no,final-number,dial-no");
    let cdr = p
        .parse_line(1, "CALL 17,ext.114,EndCall,PickupExt.125,Ext. 200")
        .unwrap();
    assert_eq!(cdr.history_id.as_deref(), Some("17"));
    assert_eq!(cdr.from_no, Some(PartyNumber::Extension("114".into())));
    assert_eq!(cdr.to_no, Some(PartyNumber::Special("EndCall".into())));
    assert_eq!(
        cdr.final_number,
        Some(PartyNumber::Special("PickupExt.125".into()))
    );
    assert_eq!(cdr.dial_no, Some(PartyNumber::Extension("200".into())));
    // A history id without the prefix is kept as it is.
    assert_eq!(
        p.parse_line(1, "23193,,,,").unwrap().history_id.as_deref(),
        Some("23193")
    );
}

#[test]
fn timestamps_with_every_separator_read_as_utc() {
    let p = parser("time-start,time-answered,time-end,historyid");
    let cdr = p
        .parse_line(
            1,
            "2020/06/29 07:56:32,2020.06.29 07:56:33,2020-06-29 08:00:16,1",
        )
        .unwrap();
    assert_eq!(
        cdr.time_start,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 7, 56, 32).unwrap())
    );
    assert_eq!(
        cdr.time_answered,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 7, 56, 33).unwrap())
    );
    assert_eq!(
        cdr.time_end,
        Some(Utc.with_ymd_and_hms(2020, 6, 29, 8, 0, 16).unwrap())
    );
    // Fractions of a second are kept.
    let cdr = p.parse_line(1, "2020/06/29 07:56:32.250,,,1").unwrap();
    assert_eq!(cdr.time_start.unwrap().timestamp_subsec_millis(), 250);
}

#[test]
fn both_vocabularies_case_insensitive_unknown_kept() {
    let p = parser("reason-terminated,reason-changed,from-type,to-type,final-type,historyid");
    let old = p
        .parse_line(1, "TerminatedByDst,ReplacedSrc,Line,Queue,VMail,1")
        .unwrap();
    let new = p
        .parse_line(
            1,
            "DST_PARTICIPANT_TERMINATED,replacedsrc,external_line,queue,voicemail,1",
        )
        .unwrap();
    assert_eq!(old, new);
    assert_eq!(
        old.reason_terminated,
        Some(TerminationReason::TerminatedByDestination)
    );
    assert_eq!(old.from_type, Some(PartyType::ExternalLine));
    assert_eq!(old.to_type, Some(PartyType::Queue));
    assert_eq!(old.final_type, Some(PartyType::Voicemail));
    for (raw, want) in [
        ("no_route", TerminationReason::NoRoute),
        ("Declined", TerminationReason::Declined),
        ("not_found", TerminationReason::NotFound),
        ("TIMEOUT", TerminationReason::Timeout),
        ("busy", TerminationReason::Busy),
        ("Failed", TerminationReason::Failed),
    ] {
        assert_eq!(TerminationReason::parse(raw), want, "{raw}");
    }
    let odd = p
        .parse_line(1, "license_limit,Polling,Conference,ivr,script,1")
        .unwrap();
    assert_eq!(
        odd.reason_terminated,
        Some(TerminationReason::Other("license_limit".into()))
    );
    assert_eq!(
        odd.reason_changed,
        Some(ChangeReason::Other("Polling".into()))
    );
    assert_eq!(odd.from_type, Some(PartyType::Other("Conference".into())));
    assert_eq!(odd.to_type, Some(PartyType::Ivr));
    assert_eq!(odd.final_type, Some(PartyType::Script));
    assert_eq!(PartyType::parse("outbound_rule"), PartyType::OutboundRule);
    assert_eq!(
        PartyType::parse("ring_group_ring_all"),
        PartyType::RingGroup
    );
}

#[test]
fn bad_value_error_names_line_field_value_and_expectation() {
    let p = parser("historyid,duration,time-start");
    let e = p
        .parse_line(12, "Call 1,3 minutes,2020/06/29 07:56:32")
        .unwrap_err();
    assert_eq!(
        e,
        Error::InvalidValue {
            at: Location::Line(12),
            field: "duration",
            value: "3 minutes".into(),
            expected: "a talk time HH:MM:SS, or empty when unanswered",
        }
    );
    assert_eq!(e.field(), Some("duration"));
    assert_eq!(e.value(), Some("3 minutes"));
    assert_eq!(
        e.to_string(),
        "line 12: field `duration` has value \"3 minutes\", expected a talk time HH:MM:SS, or empty when unanswered"
    );
    let e = p.parse_line(13, "Call 1,,2020/13/29 07:56:32").unwrap_err();
    assert_eq!(e.field(), Some("time-start"));
    assert_eq!(e.location(), Some(&Location::Line(13)));
    let e = p
        .parse_line(14, "Call 1,00:00:01,29/06/2020 07:56")
        .unwrap_err();
    assert_eq!(e.value(), Some("29/06/2020 07:56"));
}

#[test]
fn field_count_errors() {
    let p = v16();
    let e = p.parse_line(4, V20_OUTBOUND).unwrap_err();
    assert_eq!(
        e,
        Error::FieldCount {
            at: Location::Line(4),
            expected: 20,
            found: 27
        }
    );
    let e = p.parse_line(5, "Call 1,abc").unwrap_err();
    assert_eq!(
        e,
        Error::FieldCount {
            at: Location::Line(5),
            expected: 20,
            found: 2
        }
    );
    // Two trailing commas are one field too many.
    let e = p.parse_line(6, &format!("{V16_ANSWERED},,")).unwrap_err();
    assert!(matches!(e, Error::FieldCount { found: 22, .. }), "{e:?}");
    let wide = ",".repeat(500);
    let e = p.parse_line(7, &wide).unwrap_err();
    assert!(matches!(e, Error::TooManyFields { max: 64, .. }), "{e:?}");
}

#[test]
fn limits_and_empty_lines() {
    let p = v16().with_max_line_len(100);
    let e = p.parse_line(1, V16_ANSWERED).unwrap_err();
    assert!(matches!(e, Error::LineTooLong { len, max: 100, .. } if len == V16_ANSWERED.len()));
    assert_eq!(
        v16().parse_line(9, "  \r\n").unwrap_err(),
        Error::EmptyLine {
            at: Location::Line(9)
        }
    );
    let e = v16()
        .parse_line(3, &format!("{V16_MISSED}\n{V16_MISSED}"))
        .unwrap_err();
    assert_eq!(e.field(), Some("line"));
}

#[test]
fn one_bad_line_never_stops_the_others() {
    let text = format!(
        "{V16_ANSWERED}\r\ngarbage\r\n\r\n{V16_MISSED}\r\nCall 9,x,bad,,,,,,,,,,,,,,,,,\r\n{V16_ANSWERED}"
    );
    let p = v16();
    let results: Vec<_> = parse_lines(&p, text.as_bytes()).collect();
    let lines: Vec<u64> = results.iter().map(|(n, _)| *n).collect();
    assert_eq!(lines, vec![1, 2, 4, 5, 6]);
    let ok: Vec<bool> = results.iter().map(|(_, r)| r.is_ok()).collect();
    assert_eq!(ok, vec![true, false, true, false, true]);
    assert_eq!(
        results[3].1.as_ref().unwrap_err().location(),
        Some(&Location::Line(5))
    );
}
