//! 3CX output as sites really write it (issue #32), with synthetic lines of those shapes: the
//! `Call ` prefix in front of whatever field comes first, a template without the call's ids,
//! type words 3CX does not write, and a call forwarded to a mobile by an extension's rule.

use pbx_core::call::{CallDirection, CallMapper, Mapped, SkipReason};
use pbx_core::cdr::{CdrParser, Field, FieldTemplate, PartyType, format_line};
use pbx_core::direction::{Direction, DirectionPolicy, Rule, classify};
use pbx_core::extensions::User;
use pbx_core::unknown_types::unrecognised_type_words;
use pbx_core::{Error, ErrorKind};

/// A v18 site's own field order (20 fields, no call ids).
const V18_ORDER: &str = "time-start,dial-no,from-dn,duration,time-answered,time-end,\
    reason-terminated,reason-changed,missed-queue-calls,from-no,to-no,to-dn,final-number,\
    final-dn,from-type,to-type,final-type,from-dispname,to-dispname,final-dispname";

/// An inbound call to DID 0441234500 on trunk 10001, answered by 101 for 72 s, in that order
/// with `historyid,callid` appended.
const V18_INBOUND: &str = "Call 2024/09/09 02:06:33,0441234500,10001,00:01:12,\
    2024/09/09 02:06:40,2024/09/09 02:07:52,TerminatedBySrc,,,+41445550123,Ext.101,101,Ext.101,\
    101,Line,Extension,Extension,Client AG,Anna,Anna,4711,00000191D5A1B2C3_101";

/// 102 calling a mobile through trunk 10001 for 40 s, same order.
const V18_OUTBOUND: &str = "Call 2024/09/09 03:10:05,0791234567,102,00:00:40,\
    2024/09/09 03:10:12,2024/09/09 03:10:52,TerminatedByDst,,,Ext.102,0791234567,10001,\
    0791234567,10001,Extension,Line,Line,Bruno,,,4712,00000191D5A1B2C3_102";

fn v18_with_ids() -> CdrParser {
    CdrParser::new(
        format!("{V18_ORDER},historyid,callid")
            .parse()
            .expect("the v18 order with ids is a template"),
    )
}

fn mapper() -> CallMapper {
    CallMapper::default().with_extensions(
        [
            User::new("101", "anna@example.com"),
            User::new("102", "bruno@example.com"),
            User::new("611", "desk@example.com"),
        ]
        .into_iter()
        .collect(),
    )
}

fn call(mapped: Mapped) -> pbx_core::call::CallRequest {
    match mapped {
        Mapped::Call(call) => call,
        other => panic!("expected a call, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. `Call ` in front of the first field, whatever it is
// ---------------------------------------------------------------------------------------------

#[test]
fn call_prefix_is_taken_off_a_time_start_first_field() {
    let p = v18_with_ids();
    let cdr = p.parse_line(1, V18_INBOUND).expect("the v18 line reads");
    assert_eq!(
        cdr.time_start.map(|t| t.to_rfc3339()),
        Some("2024-09-09T02:06:33+00:00".to_owned())
    );
    assert_eq!(cdr.history_id.as_deref(), Some("4711"));
    assert_eq!(cdr.call_id.as_deref(), Some("00000191D5A1B2C3_101"));
    assert_eq!(cdr.talk_seconds(), 72);
    // Through the zero-copy path too.
    let mut scratch = Vec::new();
    let r = p
        .parse_ref(1, V18_INBOUND.as_bytes(), &mut scratch)
        .unwrap();
    assert_eq!(r.time_start, cdr.time_start);
}

#[test]
fn call_prefix_is_taken_off_any_first_field_and_only_once() {
    // Case-insensitive; a quoted first field; a line without the prefix reads the same.
    let p = CdrParser::new("from-dispname,historyid".parse().unwrap());
    for (line, name) in [
        ("Call Anna,7", "Anna"),
        ("CALL Anna,7", "Anna"),
        ("Call \"Berg, Anna\",7", "Berg, Anna"),
        ("\"Call Berg, Anna\",7", "Berg, Anna"),
        ("Anna,7", "Anna"),
        ("Call Call Center,7", "Call Center"),
    ] {
        let cdr = p.parse_line(1, line).unwrap();
        assert_eq!(cdr.from_dispname.as_deref(), Some(name), "{line}");
        assert_eq!(cdr.history_id.as_deref(), Some("7"), "{line}");
    }
    // An empty first field behind the prefix is absent.
    let cdr = p.parse_line(1, "Call ,7").unwrap();
    assert_eq!(cdr.from_dispname, None);
}

#[test]
fn a_bad_first_value_is_named_without_the_prefix() {
    let p = v18_with_ids();
    let line = V18_INBOUND.replace("2024/09/09 02:06:33", "yesterday");
    let e = p.parse_line(3, &line).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidValue { field: "time-start", value, .. } if value == "yesterday"),
        "{e}"
    );
}

#[test]
fn format_line_writes_the_prefix_whatever_comes_first_and_reads_back() {
    let t: FieldTemplate = format!("{V18_ORDER},historyid,callid").parse().unwrap();
    let cdr = v18_with_ids().parse_line(1, V18_INBOUND).unwrap();
    let line = format_line(&cdr, &t);
    assert!(line.starts_with("Call 2024/09/09 02:06:33,"), "{line}");
    assert_eq!(v18_with_ids().parse_line(1, &line).unwrap(), cdr);
}

#[test]
fn v18_custom_order_maps_to_calls() {
    let p = v18_with_ids();
    let m = mapper();
    let inbound = call(m.map(&p.parse_line(1, V18_INBOUND).unwrap()).unwrap());
    assert_eq!(inbound.call_direction, CallDirection::Inbound);
    assert_eq!(inbound.call_owner_extension, "101");
    assert_eq!(inbound.phone_number, "+41445550123");
    assert_eq!(inbound.call_duration, 72);
    assert_eq!(inbound.pbx_call_id, "3cx-4711-00000191D5A1B2C3_101");
    let outbound = call(m.map(&p.parse_line(2, V18_OUTBOUND).unwrap()).unwrap());
    assert_eq!(outbound.call_direction, CallDirection::Outbound);
    assert_eq!(outbound.call_owner_extension, "102");
    assert_eq!(outbound.call_duration, 40);
}

// ---------------------------------------------------------------------------------------------
// 2. A template without `historyid` and `callid`
// ---------------------------------------------------------------------------------------------

#[test]
fn a_template_without_ids_is_one_error_naming_the_3cx_setting() {
    for template in [V18_ORDER, "time-start,duration", "from-no"] {
        let e = template.parse::<FieldTemplate>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTemplate, "{template}");
        let msg = e.to_string();
        for needle in [
            "neither `historyid` nor `callid`",
            "CDR output's enabled fields",
            "CDRSettings.EnabledFields",
            "pbx.cdr_template",
        ] {
            assert!(msg.contains(needle), "{needle} missing: {msg}");
        }
        assert_eq!(e.issues()[0].path, "template");
    }
    // Either id alone is enough.
    for template in [
        format!("{V18_ORDER},historyid"),
        format!("{V18_ORDER},callid"),
        format!("callid,{V18_ORDER}"),
    ] {
        assert!(template.parse::<FieldTemplate>().is_ok(), "{template}");
    }
    assert!(FieldTemplate::from_names(["time-start", "to-no"]).is_err());
    assert!(FieldTemplate::new(vec![Field::TimeStart]).is_err());
}

#[test]
fn a_config_whose_template_lacks_ids_is_refused_at_start() {
    let yaml = format!(
        "source: {{ kind: file, path: cdr.log }}\ncall_api: {{ base_url: 'http://localhost:8080' }}\n\
         pbx: {{ cdr_template: '{V18_ORDER}' }}\n"
    );
    let e = pbx_core::config::Config::from_yaml(&yaml, &|_| None).unwrap_err();
    let issues = e.issues();
    assert_eq!(issues.len(), 1, "{e}");
    assert_eq!(issues[0].path, "pbx.cdr_template");
    assert!(
        issues[0]
            .message
            .contains("neither `historyid` nor `callid`"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Type words 3CX does not write
// ---------------------------------------------------------------------------------------------

/// A spreadsheet-saved 27-field export: `External`/`Internal` in the type fields and the chain
/// emptied. Inbound from 0466452265, answered by 611 for 223 s.
const SHEET_INBOUND: &str = "Call 40101,00000191AAAA0001_1,00:03:43,2024/03/04 09:00:00,\
    2024/03/04 09:00:05,2024/03/04 09:03:48,TerminatedBySrc,0466452265,Ext.611,10000,611,611,,\
    Ext.611,611,,,,,,External,Internal,Internal,Client,Desk 611,Desk 611,";

/// 102 calling 0232354095 for 40 s, same export.
const SHEET_OUTBOUND: &str = "Call 40102,00000191AAAA0002_1,00:00:40,2024/03/04 09:10:00,\
    2024/03/04 09:10:07,2024/03/04 09:10:47,TerminatedBySrc,Ext.102,0232354095,102,10000,\
    0232354095,,0232354095,10000,,,,,,Internal,External,External,Bruno,,,";

#[test]
fn unknown_type_words_are_treated_as_absent() {
    let p = CdrParser::default();
    let policy = DirectionPolicy::default();
    let inbound = p.parse_line(1, SHEET_INBOUND).unwrap();
    // Kept as written, but not trusted.
    assert_eq!(inbound.from_type, Some(PartyType::Other("External".into())));
    assert!(!inbound.from_type.as_ref().unwrap().is_recognised());
    assert_eq!(unrecognised_type_words(&inbound), ["External", "Internal"]);
    let c = classify(&inbound, &policy);
    assert_eq!(
        (c.direction, c.rule, c.owner.as_deref()),
        (Direction::Inbound, Rule::ExternalCallerNumber, Some("611"))
    );
    let outbound = p.parse_line(2, SHEET_OUTBOUND).unwrap();
    let c = classify(&outbound, &policy);
    assert_eq!(
        (c.direction, c.rule, c.owner.as_deref()),
        (Direction::Outbound, Rule::ExternalCalleeNumber, Some("102"))
    );
    // With the trunk configured, the trunk-DN rules decide.
    let trunk = DirectionPolicy {
        trunk_dns: vec!["10000".into()],
        ..DirectionPolicy::default()
    };
    assert_eq!(classify(&inbound, &trunk).rule, Rule::FromTrunkDn);
    assert_eq!(classify(&outbound, &trunk).rule, Rule::ToTrunkDn);
    // And the calls are delivered, not skipped `no_owner`.
    let m = mapper();
    let a = call(m.map(&inbound).unwrap());
    assert_eq!(
        (a.call_owner_extension.as_str(), a.call_duration),
        ("611", 223)
    );
    let b = call(m.map(&outbound).unwrap());
    assert_eq!(b.call_owner_extension, "102");
}

#[test]
fn an_unknown_word_decides_exactly_as_an_empty_field() {
    let p = CdrParser::default();
    let policy = DirectionPolicy::default();
    let blank = SHEET_INBOUND.replace("External,Internal,Internal", ",,");
    let a = classify(&p.parse_line(1, SHEET_INBOUND).unwrap(), &policy);
    let b = classify(&p.parse_line(1, &blank).unwrap(), &policy);
    assert_eq!(a, b);
}

#[test]
fn words_3cx_writes_are_not_reported_as_unknown() {
    for word in [
        "Line",
        "external_line",
        "Extension",
        "outbound_rule",
        "ring_group_ring_all",
        "VMail",
        "inbound_routing",
        "endcall",
        "unknown",
        "paging_group",
        "vmail_console",
        "service_call",
    ] {
        assert!(PartyType::parse(word).is_recognised(), "{word}");
    }
    for word in [
        "External",
        "Internal",
        "Mobile",
        "",
        "x".repeat(100).as_str(),
    ] {
        assert!(!PartyType::parse(word).is_recognised(), "{word}");
    }
    let cdr = CdrParser::default()
        .parse_line(
            1,
            &SHEET_INBOUND.replace(
                "External,Internal,Internal",
                "Line,inbound_routing,Extension",
            ),
        )
        .unwrap();
    assert!(unrecognised_type_words(&cdr).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 4. Forwarded to a mobile (text chain)
// ---------------------------------------------------------------------------------------------

/// An inbound call to 101, unanswered there, forwarded by 101's rule to its mobile
/// +41791234567, which talked 125 s: the chain ends on the outside number after the extension.
const FORWARDED_TO_MOBILE: &str = "Call 40201,00000191BBBB0001_7,00:02:05,2024/03/04 10:00:00,\
    2024/03/04 10:00:25,2024/03/04 10:02:30,TerminatedBySrc,+41445550123,Ext.101,10000,101,101,\
    ReplacedDst,+41791234567,10000,,,,,Chain: +41445550123;Ext.101;+41791234567;,Line,Extension,\
    Line,Client AG,Anna,+41791234567,";

#[test]
fn a_text_chain_forwarded_to_a_mobile_is_the_extensions_call() {
    let cdr = CdrParser::default()
        .parse_line(1, FORWARDED_TO_MOBILE)
        .unwrap();
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(
        (c.direction, c.rule, c.owner.as_deref()),
        (Direction::Inbound, Rule::FromTypeExternal, Some("101"))
    );
    let a = call(mapper().map(&cdr).unwrap());
    assert_eq!(a.call_owner_extension, "101");
    assert_eq!(a.call_duration, 125);
    assert_eq!(a.phone_number, "+41445550123");
    // The same in the 20-field layout (no type fields: the chain still names 101).
    let t20 = FieldTemplate::v16_20();
    let line20 = format_line(&cdr, &t20);
    let cdr20 = CdrParser::new(t20).parse_line(1, &line20).unwrap();
    let b = call(mapper().map(&cdr20).unwrap());
    assert_eq!(
        (b.call_owner_extension, b.call_duration),
        (a.call_owner_extension, 125)
    );
}

#[test]
fn a_forward_to_a_mobile_by_a_queue_is_nobodys_call() {
    // The chain holds no person's extension: the queue's own rule forwarded it.
    let line = FORWARDED_TO_MOBILE
        .replace("Ext.101,10000,101,101", "Ext.800,10000,800,800")
        .replace(
            "Chain: +41445550123;Ext.101;",
            "Chain: +41445550123;Ext.800;",
        )
        .replace(",Line,Extension,Line,", ",Line,Queue,Line,");
    let cdr = CdrParser::default().parse_line(1, &line).unwrap();
    assert_eq!(
        mapper().map(&cdr).unwrap(),
        Mapped::Skipped(SkipReason::NoOwner)
    );
}
