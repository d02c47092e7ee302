//! Integration tests of call direction: `pbx_core::direction::classify` and `DirectionPolicy`.

mod common;

use common::s;
use pbx_core::cdr::{Cdr, CdrParser, FieldTemplate, PartyNumber, PartyType};
use pbx_core::direction::{Classification, Direction, DirectionPolicy, Rule, classify};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `Ext.NNN` / a raw number / a special, as 3CX writes it.
fn n(raw: &str) -> Option<PartyNumber> {
    Some(PartyNumber::parse(raw))
}

/// A type field; empty means absent.
fn t(raw: &str) -> Option<PartyType> {
    (!raw.is_empty()).then(|| PartyType::parse(raw))
}

fn chain(raw: &str) -> Vec<PartyNumber> {
    pbx_core::cdr::parse_chain(raw)
}

/// A record with only numbers: from-no, to-no / dial-no (the same), final-number.
fn numbers(from: &str, to: &str) -> Cdr {
    Cdr {
        history_id: s("1"),
        call_id: s("c_1"),
        from_no: n(from),
        to_no: n(to),
        dial_no: n(to),
        ..Cdr::default()
    }
}

/// A record with type fields.
fn typed(from_type: &str, to_type: &str, final_type: &str) -> Cdr {
    Cdr {
        history_id: s("1"),
        call_id: s("c_1"),
        from_type: t(from_type),
        to_type: t(to_type),
        final_type: t(final_type),
        ..Cdr::default()
    }
}

fn default_policy() -> DirectionPolicy {
    DirectionPolicy::default()
}

fn classify_default(cdr: &Cdr) -> Classification {
    classify(cdr, &default_policy())
}

fn owner(c: &Classification) -> Option<&str> {
    c.owner.as_deref()
}

fn counterpart(c: &Classification) -> Option<String> {
    c.counterpart.as_ref().map(ToString::to_string)
}

/// Asserts direction, rule, owner and counterpart (its `Display`, so `Ext.` is visible).
#[track_caller]
fn assert_class(
    c: &Classification,
    direction: Direction,
    rule: Rule,
    owner_ext: Option<&str>,
    other: Option<&str>,
) {
    assert_eq!(c.direction, direction, "direction of {c:?}");
    assert_eq!(c.rule, rule, "rule of {c:?}");
    assert_eq!(owner(c), owner_ext, "owner of {c:?}");
    assert_eq!(counterpart(c).as_deref(), other, "counterpart of {c:?}");
}

const V16_INBOUND: &str = "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,,,,,Chain: 0466452265;Ext.611;Ext.194;";
const V16_INTERNAL: &str = "Call 23219,00000172FF3328E8_4479,,2020/06/29 08:30:42,,2020/06/29 08:30:50,Failed_Cancelled,Ext.195,Ext.196,195,196,196,,,,,,,,";
const V20_OUTBOUND: &str = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,,+46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,Line,Backup no2,+46703014082,+46703014082,";

// ---------------------------------------------------------------------------------------------
// The three documented example lines (3cx.md §1)
// ---------------------------------------------------------------------------------------------

#[test]
fn example_v16_inbound_transferred_call() {
    let cdr = CdrParser::new(FieldTemplate::v16_20())
        .parse_line(1, V16_INBOUND)
        .unwrap();
    let c = classify_default(&cdr);
    assert_class(
        &c,
        Direction::Inbound,
        Rule::ExternalCallerNumber,
        Some("194"),
        Some("0466452265"),
    );
    assert_eq!(cdr.talk_seconds(), 223);
}

#[test]
fn example_v16_internal_unanswered_call() {
    let cdr = CdrParser::new(FieldTemplate::v16_20())
        .parse_line(1, V16_INTERNAL)
        .unwrap();
    let c = classify_default(&cdr);
    assert_class(
        &c,
        Direction::Internal,
        Rule::InternalNumbers,
        Some("195"),
        Some("Ext.196"),
    );
    assert_eq!(cdr.talk_seconds(), 0);
}

#[test]
fn example_v20_outbound_call() {
    let cdr = CdrParser::new(FieldTemplate::v20_27())
        .parse_line(1, V20_OUTBOUND)
        .unwrap();
    let c = classify_default(&cdr);
    assert_class(
        &c,
        Direction::Outbound,
        Rule::ToTypeExternal,
        Some("10016"),
        Some("+46703014082"),
    );
    assert_eq!(cdr.talk_seconds(), 25);
}

#[test]
fn example_v20_outbound_call_without_its_type_fields_is_still_outbound() {
    // The same call as the 20-field layout writes it: no type fields, so number patterns decide.
    let line = V20_OUTBOUND
        .splitn(21, ',')
        .take(20)
        .collect::<Vec<_>>()
        .join(",");
    let cdr = CdrParser::new(FieldTemplate::v16_20())
        .parse_line(1, &line)
        .unwrap();
    assert_eq!(cdr.from_type, None);
    let c = classify_default(&cdr);
    assert_class(
        &c,
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("10016"),
        Some("+46703014082"),
    );
}

// ---------------------------------------------------------------------------------------------
// Type rules
// ---------------------------------------------------------------------------------------------

#[test]
fn from_type_line_is_inbound() {
    let cdr = Cdr {
        from_no: n("0466452265"),
        from_dn: s("10000"),
        to_no: n("Ext.611"),
        to_dn: s("611"),
        final_number: n("Ext.194"),
        final_dn: s("194"),
        ..typed("Line", "Extension", "Extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("194"),
        Some("0466452265"),
    );
}

#[test]
fn from_type_external_line_v20_is_inbound() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        from_dn: s("10000"),
        to_no: n("Ext.101"),
        to_dn: s("101"),
        final_dn: s("101"),
        ..typed("external_line", "extension", "extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("101"),
        Some("+19075550142"),
    );
}

#[test]
fn type_fields_are_case_insensitive() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        final_dn: s("101"),
        ..typed("EXTERNAL_LINE", "EXTENSION", "Extension")
    };
    assert_eq!(classify_default(&cdr).rule, Rule::FromTypeExternal);
}

#[test]
fn to_type_line_from_extension_is_outbound() {
    let cdr = Cdr {
        from_no: n("Ext.101"),
        from_dn: s("101"),
        to_no: n("9075551234"),
        dial_no: n("9075551234"),
        to_dn: s("10000"),
        final_number: n("9075551234"),
        final_dn: s("10000"),
        ..typed("Extension", "Line", "Line")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ToTypeExternal,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn to_type_outbound_rule_v20_is_outbound() {
    let cdr = Cdr {
        from_no: n("Ext.101"),
        from_dn: s("101"),
        to_no: n("9075551234"),
        dial_no: n("9075551234"),
        to_dn: s("900"),
        ..typed("extension", "outbound_rule", "")
    };
    assert_eq!(cdr.final_type, None);
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ToTypeExternal,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn final_type_external_line_v20_is_outbound() {
    // First routed to an internal destination, ended on an external line (e.g. a forward).
    let cdr = Cdr {
        from_no: n("Ext.101"),
        from_dn: s("101"),
        to_no: n("Ext.102"),
        to_dn: s("102"),
        dial_no: n("102"),
        final_number: n("+4670301408"),
        final_dn: s("10020"),
        ..typed("extension", "extension", "external_line")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ToTypeExternal,
        Some("101"),
        Some("+4670301408"),
    );
}

#[test]
fn extension_to_extension_types_are_internal() {
    let cdr = Cdr {
        from_no: n("Ext.195"),
        from_dn: s("195"),
        to_no: n("Ext.196"),
        to_dn: s("196"),
        dial_no: n("196"),
        final_number: n("Ext.196"),
        final_dn: s("196"),
        ..typed("Extension", "Extension", "Extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Internal,
        Rule::InternalTypes,
        Some("195"),
        Some("Ext.196"),
    );
}

#[test]
fn extension_to_queue_ivr_voicemail_types_are_internal() {
    for dest in [
        "Queue",
        "queue",
        "Ivr",
        "VMail",
        "ring_group_ring_all",
        "script",
    ] {
        let cdr = Cdr {
            from_no: n("Ext.195"),
            from_dn: s("195"),
            to_no: n("Ext.800"),
            to_dn: s("800"),
            ..typed("Extension", dest, dest)
        };
        let c = classify_default(&cdr);
        assert_class(
            &c,
            Direction::Internal,
            Rule::InternalTypes,
            Some("195"),
            Some("Ext.800"),
        );
    }
}

#[test]
fn from_type_extension_with_a_long_from_no_is_not_inbound() {
    // The caller id of an extension can be a long (e.g. its DID) number: the type decides.
    let cdr = Cdr {
        from_no: n("9075550100"),
        from_dn: s("101"),
        to_no: n("Ext.102"),
        to_dn: s("102"),
        final_dn: s("102"),
        ..typed("Extension", "Extension", "Extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Internal,
        Rule::InternalTypes,
        Some("101"),
        Some("Ext.102"),
    );

    let outbound = Cdr {
        from_no: n("9075550100"),
        from_dn: s("101"),
        to_no: n("+14155550199"),
        dial_no: n("+14155550199"),
        to_dn: s("10000"),
        ..typed("Extension", "Line", "Line")
    };
    assert_class(
        &classify_default(&outbound),
        Direction::Outbound,
        Rule::ToTypeExternal,
        Some("101"),
        Some("+14155550199"),
    );
}

#[test]
fn from_type_line_with_a_short_from_no_is_inbound() {
    // A short caller id (e.g. a service number) on a trunk is still an outside caller.
    let cdr = Cdr {
        from_no: n("611"),
        from_dn: s("10000"),
        to_no: n("Ext.101"),
        to_dn: s("101"),
        final_dn: s("101"),
        ..typed("Line", "Extension", "Extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("101"),
        Some("611"),
    );
}

#[test]
fn from_type_extension_with_unknown_destination_types_falls_back_to_numbers() {
    let cdr = Cdr {
        from_no: n("Ext.101"),
        from_dn: s("101"),
        to_no: n("9075551234"),
        dial_no: n("9075551234"),
        ..typed("Extension", "Wormhole", "")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn from_type_queue_falls_back_to_numbers() {
    // A queue calling out (e.g. a callback) is neither an extension nor a line by type.
    let cdr = Cdr {
        from_no: n("Ext.800"),
        from_dn: s("800"),
        to_no: n("Ext.101"),
        to_dn: s("101"),
        ..typed("Queue", "Extension", "Extension")
    };
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Internal);
    assert_eq!(c.rule, Rule::InternalNumbers);
}

// ---------------------------------------------------------------------------------------------
// Fallbacks without type fields
// ---------------------------------------------------------------------------------------------

#[test]
fn outbound_from_extension_to_ten_digit_number_is_outbound_not_inbound() {
    // The known failure of other integrations: digit length alone made every call inbound.
    let cdr = Cdr {
        from_dn: s("101"),
        ..numbers("Ext.101", "9075551234")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn outbound_from_bare_extension_number_is_outbound() {
    let cdr = numbers("101", "9075551234");
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn outbound_from_extension_dn_only_is_outbound() {
    let cdr = Cdr {
        from_no: None,
        from_dn: s("101"),
        ..numbers("Ext.101", "+4670301408")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("101"),
        Some("+4670301408"),
    );
}

#[test]
fn inbound_from_long_number_is_inbound() {
    let cdr = Cdr {
        final_number: n("Ext.101"),
        final_dn: s("101"),
        ..numbers("9075551234", "Ext.101")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::ExternalCallerNumber,
        Some("101"),
        Some("9075551234"),
    );
}

#[test]
fn inbound_from_plus_number_is_inbound() {
    let cdr = Cdr {
        final_dn: s("101"),
        ..numbers("+4670301", "Ext.101")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::ExternalCallerNumber,
        Some("101"),
        Some("+4670301"),
    );
}

#[test]
fn withheld_callers_without_type_fields_are_inbound() {
    for caller in ["anonymous", "Anonymous", "private", "PRIVATE", "unknown"] {
        let cdr = Cdr {
            final_number: n("Ext.101"),
            final_dn: s("101"),
            ..numbers(caller, "Ext.101")
        };
        assert_class(
            &classify_default(&cdr),
            Direction::Inbound,
            Rule::ExternalCallerNumber,
            Some("101"),
            Some(caller),
        );
    }
}

#[test]
fn from_trunk_dn_is_inbound_even_with_a_short_caller_id() {
    let policy = DirectionPolicy {
        trunk_dns: vec!["10000".into()],
        ..DirectionPolicy::default()
    };
    let cdr = Cdr {
        from_dn: s("10000"),
        to_dn: s("101"),
        final_dn: s("101"),
        ..numbers("1234", "Ext.101")
    };
    assert_class(
        &classify(&cdr, &policy),
        Direction::Inbound,
        Rule::FromTrunkDn,
        Some("101"),
        Some("1234"),
    );
    // Without the trunk configured, "1234" looks like an extension: an internal call.
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Internal);
    assert_eq!(c.rule, Rule::InternalNumbers);
}

#[test]
fn to_trunk_dn_is_outbound_even_for_a_short_dialled_number() {
    let policy = DirectionPolicy {
        trunk_dns: vec!["10000".into()],
        ..DirectionPolicy::default()
    };
    let cdr = Cdr {
        from_dn: s("101"),
        to_dn: s("10000"),
        final_dn: s("10000"),
        ..numbers("Ext.101", "112")
    };
    assert_class(
        &classify(&cdr, &policy),
        Direction::Outbound,
        Rule::ToTrunkDn,
        Some("101"),
        Some("112"),
    );
}

#[test]
fn to_trunk_dn_via_final_dn_only() {
    let policy = DirectionPolicy {
        trunk_dns: vec!["10020".into()],
        ..DirectionPolicy::default()
    };
    let cdr = Cdr {
        from_dn: s("101"),
        to_dn: s("102"),
        final_dn: s("10020"),
        final_number: n("0046703014082"),
        ..numbers("Ext.101", "Ext.102")
    };
    assert_class(
        &classify(&cdr, &policy),
        Direction::Outbound,
        Rule::ToTrunkDn,
        Some("101"),
        Some("0046703014082"),
    );
}

#[test]
fn to_trunk_dn_needs_an_internal_caller() {
    let policy = DirectionPolicy {
        trunk_dns: vec!["10000".into()],
        ..DirectionPolicy::default()
    };
    // An external caller routed back out (e.g. a forward to a mobile) is inbound.
    let cdr = Cdr {
        to_dn: s("10000"),
        ..numbers("+19075550142", "+19075550199")
    };
    let c = classify(&cdr, &policy);
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.rule, Rule::ExternalCallerNumber);
}

#[test]
fn extension_to_extension_numbers_are_internal() {
    let cdr = Cdr {
        from_dn: s("195"),
        to_dn: s("196"),
        ..numbers("Ext.195", "Ext.196")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Internal,
        Rule::InternalNumbers,
        Some("195"),
        Some("Ext.196"),
    );
}

#[test]
fn internal_counterpart_falls_back_to_to_dn() {
    let cdr = Cdr {
        from_no: n("Ext.195"),
        from_dn: s("195"),
        to_dn: s("196"),
        ..Cdr::default()
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Internal,
        Rule::InternalNumbers,
        Some("195"),
        Some("Ext.196"),
    );
}

#[test]
fn empty_record_is_undetermined() {
    let c = classify_default(&Cdr::default());
    assert_class(&c, Direction::Unknown, Rule::Undetermined, None, None);
}

#[test]
fn special_numbers_only_are_undetermined() {
    let cdr = numbers("EndCall", "PickupExt.125");
    assert_class(
        &classify_default(&cdr),
        Direction::Unknown,
        Rule::Undetermined,
        None,
        None,
    );
}

#[test]
fn short_unknown_callee_from_extension_is_undetermined() {
    // 6 digits: too long for an extension (2..=5), too short for an outside number (7+).
    let cdr = numbers("Ext.101", "123456");
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Unknown);
    assert_eq!(c.rule, Rule::Undetermined);
    assert_eq!(c.owner, None);
}

// ---------------------------------------------------------------------------------------------
// Policy: extension digits vs ranges
// ---------------------------------------------------------------------------------------------

#[test]
fn extension_digits_decide_without_ranges() {
    let p = default_policy();
    assert!(p.is_extension_number("10"));
    assert!(p.is_extension_number("611"));
    assert!(p.is_extension_number("10016"));
    assert!(!p.is_extension_number("1"));
    assert!(!p.is_extension_number("100160"));
    assert!(!p.is_extension_number(""));
    assert!(!p.is_extension_number("6a1"));
    assert!(!p.is_extension_number("+611"));

    let three = DirectionPolicy {
        extension_digits: 3..=3,
        ..DirectionPolicy::default()
    };
    assert!(three.is_extension_number("611"));
    assert!(!three.is_extension_number("61"));
    assert!(!three.is_extension_number("6111"));
}

#[test]
fn extension_ranges_override_digits() {
    let p = DirectionPolicy {
        extension_ranges: vec![100..=199, 1_000_000..=1_000_999],
        ..DirectionPolicy::default()
    };
    assert!(p.is_extension_number("100"));
    assert!(p.is_extension_number("199"));
    assert!(!p.is_extension_number("200"));
    assert!(!p.is_extension_number("611"));
    assert!(!p.is_extension_number("99"));
    // A 7-digit extension inside a range is internal, not an outside number.
    assert!(p.is_extension_number("1000500"));
    assert!(p.is_internal(&PartyNumber::Number("1000500".into())));
    assert!(!p.is_external(&PartyNumber::Number("1000500".into())));
    assert!(p.is_external(&PartyNumber::Number("1001500".into())));
}

#[test]
fn extension_ranges_change_the_classification() {
    let cdr = numbers("101", "611");
    // Default digits: both 3-digit numbers are extensions.
    assert_eq!(classify_default(&cdr).rule, Rule::InternalNumbers);
    // Ranges 100..=199: 611 is not an extension and too short to be external.
    let narrow = DirectionPolicy {
        extension_ranges: vec![100..=199],
        ..DirectionPolicy::default()
    };
    let c = classify(&cdr, &narrow);
    assert_eq!(c.direction, Direction::Unknown);
    assert_eq!(c.rule, Rule::Undetermined);
    // Ranges covering both: internal again, owned by the caller.
    let wide = DirectionPolicy {
        extension_ranges: vec![100..=199, 600..=699],
        ..DirectionPolicy::default()
    };
    assert_class(
        &classify(&cdr, &wide),
        Direction::Internal,
        Rule::InternalNumbers,
        Some("101"),
        Some("611"),
    );
}

#[test]
fn seven_digit_extensions_by_range_call_out() {
    let p = DirectionPolicy {
        extension_ranges: vec![1_000_000..=1_000_999],
        ..DirectionPolicy::default()
    };
    // Bare 7-digit extension caller: not an outside caller under this policy.
    let cdr = numbers("1000500", "9075551234");
    assert_class(
        &classify(&cdr, &p),
        Direction::Outbound,
        Rule::ExternalCalleeNumber,
        Some("1000500"),
        Some("9075551234"),
    );
    // Under the default policy the same caller looks external.
    assert_eq!(classify_default(&cdr).direction, Direction::Inbound);
}

#[test]
fn min_external_digits_is_configurable() {
    let cdr = Cdr {
        final_dn: s("101"),
        ..numbers("123456", "Ext.101")
    };
    assert_eq!(classify_default(&cdr).direction, Direction::Unknown);
    let p = DirectionPolicy {
        min_external_digits: 6,
        ..DirectionPolicy::default()
    };
    assert_class(
        &classify(&cdr, &p),
        Direction::Inbound,
        Rule::ExternalCallerNumber,
        Some("101"),
        Some("123456"),
    );
}

#[test]
fn trunk_and_service_dns() {
    let p = DirectionPolicy {
        trunk_dns: vec!["10000".into(), "10020".into()],
        service_dns: vec!["800".into()],
        ..DirectionPolicy::default()
    };
    assert!(p.is_trunk("10000"));
    assert!(p.is_trunk("10020"));
    assert!(!p.is_trunk("10001"));
    assert!(p.is_service("800"));
    assert!(!p.is_service("801"));
    // A trunk DN is never an extension, even within the digit range.
    assert!(!p.is_extension_number("10000"));
    assert!(p.is_extension_number("10001"));
}

#[test]
fn is_internal_and_is_external() {
    let p = default_policy();
    let num = |s: &str| PartyNumber::Number(s.into());
    assert!(p.is_internal(&PartyNumber::Extension("101".into())));
    assert!(p.is_internal(&PartyNumber::Extension("100160".into())));
    assert!(p.is_internal(&num("101")));
    assert!(!p.is_internal(&num("9075551234")));
    assert!(!p.is_internal(&PartyNumber::Special("EndCall".into())));

    assert!(p.is_external(&num("9075551234")));
    assert!(p.is_external(&num("+4670")));
    assert!(p.is_external(&num("(907) 555-1234")));
    assert!(p.is_external(&num("anonymous")));
    assert!(p.is_external(&num("Private")));
    assert!(!p.is_external(&num("101")));
    assert!(!p.is_external(&num("123456")));
    assert!(!p.is_external(&num("")));
    assert!(!p.is_external(&num("+")));
    assert!(!p.is_external(&PartyNumber::Extension("9075551234".into())));
    assert!(!p.is_external(&PartyNumber::Special("EndCall".into())));
}

// ---------------------------------------------------------------------------------------------
// Owner of inbound calls: the answering extension, never a queue / ring group
// ---------------------------------------------------------------------------------------------

#[test]
fn inbound_via_queue_by_type_owner_is_answering_agent() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        from_dn: s("10000"),
        to_no: n("Ext.800"),
        to_dn: s("800"),
        final_number: n("Ext.104"),
        final_dn: s("104"),
        chain: chain("Chain: +19075550142;Ext.800;Ext.104;"),
        ..typed("Line", "Queue", "Extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("104"),
        Some("+19075550142"),
    );
}

#[test]
fn inbound_via_ring_group_by_type_owner_is_answering_member() {
    let cdr = Cdr {
        from_no: n("0466452265"),
        to_no: n("Ext.700"),
        to_dn: s("700"),
        final_number: n("Ext.112"),
        final_dn: s("112"),
        chain: chain("Chain: 0466452265;Ext.700;Ext.112;"),
        ..typed("external_line", "ring_group_ring_all", "extension")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("112"),
        Some("0466452265"),
    );
}

#[test]
fn inbound_final_type_queue_owner_is_last_agent_in_chain() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        to_no: n("Ext.800"),
        to_dn: s("800"),
        final_number: n("Ext.800"),
        final_dn: s("800"),
        chain: chain("Chain: +19075550142;Ext.800;Ext.104;Ext.800;"),
        ..typed("Line", "Queue", "Queue")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("104"),
        Some("+19075550142"),
    );
}

#[test]
fn inbound_ended_in_voicemail_owner_is_last_person_before_it() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        to_no: n("Ext.101"),
        to_dn: s("101"),
        final_number: n("Ext.999"),
        final_dn: s("999"),
        chain: chain("Chain: +19075550142;Ext.101;Ext.999;"),
        ..typed("Line", "Extension", "VMail")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        Some("101"),
        Some("+19075550142"),
    );
}

#[test]
fn inbound_only_reaching_a_queue_has_no_owner() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        to_no: n("Ext.800"),
        to_dn: s("800"),
        final_number: n("Ext.800"),
        final_dn: s("800"),
        chain: chain("Chain: +19075550142;Ext.800;"),
        ..typed("Line", "Queue", "Queue")
    };
    assert_class(
        &classify_default(&cdr),
        Direction::Inbound,
        Rule::FromTypeExternal,
        None,
        Some("+19075550142"),
    );
}

#[test]
fn inbound_final_type_ivr_without_chain_has_no_owner() {
    let cdr = Cdr {
        from_no: n("+19075550142"),
        to_dn: s("600"),
        final_dn: s("600"),
        ..typed("Line", "Ivr", "Ivr")
    };
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner, None);
}

#[test]
fn inbound_via_queue_without_types_uses_service_dns() {
    let policy = DirectionPolicy {
        service_dns: vec!["800".into()],
        ..DirectionPolicy::default()
    };
    let answered = Cdr {
        from_dn: s("10000"),
        to_dn: s("800"),
        final_number: n("Ext.104"),
        final_dn: s("104"),
        chain: chain("Chain: +19075550142;Ext.800;Ext.104;"),
        ..numbers("+19075550142", "Ext.800")
    };
    assert_class(
        &classify(&answered, &policy),
        Direction::Inbound,
        Rule::ExternalCallerNumber,
        Some("104"),
        Some("+19075550142"),
    );

    // Final DN is the queue itself: the last non-service extension in the chain owns it.
    let final_queue = Cdr {
        final_number: n("Ext.800"),
        final_dn: s("800"),
        chain: chain("Chain: +19075550142;Ext.800;Ext.104;Ext.800;"),
        ..answered.clone()
    };
    assert_eq!(owner(&classify(&final_queue, &policy)), Some("104"));

    // Only the queue: no owner (and never the queue).
    let unanswered = Cdr {
        final_number: n("Ext.800"),
        final_dn: s("800"),
        chain: chain("Chain: +19075550142;Ext.800;"),
        ..answered
    };
    let c = classify(&unanswered, &policy);
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner, None);
}

#[test]
fn inbound_trunk_dn_in_chain_is_never_owner() {
    let policy = DirectionPolicy {
        trunk_dns: vec!["10000".into()],
        service_dns: vec!["800".into()],
        ..DirectionPolicy::default()
    };
    let cdr = Cdr {
        from_dn: s("10000"),
        final_dn: s("800"),
        chain: chain("Chain: Ext.10000;Ext.800;"),
        ..numbers("+19075550142", "Ext.800")
    };
    let c = classify(&cdr, &policy);
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.rule, Rule::FromTrunkDn);
    assert_eq!(c.owner, None);
}

#[test]
fn inbound_answered_by_extension_is_final_dn_not_first_destination() {
    // Transferred from 611 to 194: the final extension owns the call.
    let cdr = Cdr {
        from_dn: s("10000"),
        to_dn: s("611"),
        final_number: n("Ext.194"),
        final_dn: s("194"),
        chain: chain("Chain: 0466452265;Ext.611;Ext.194;"),
        ..numbers("0466452265", "Ext.611")
    };
    assert_eq!(owner(&classify_default(&cdr)), Some("194"));
}

// ---------------------------------------------------------------------------------------------
// Owner of outbound / internal calls: the calling extension; counterparts
// ---------------------------------------------------------------------------------------------

#[test]
fn outbound_owner_is_calling_extension_not_final_dn() {
    let cdr = Cdr {
        from_dn: s("101"),
        to_dn: s("10000"),
        final_dn: s("10000"),
        final_number: n("9075551234"),
        ..numbers("Ext.101", "9075551234")
    };
    assert_eq!(owner(&classify_default(&cdr)), Some("101"));
}

#[test]
fn outbound_counterpart_prefers_external_final_number() {
    let cdr = Cdr {
        from_dn: s("101"),
        dial_no: n("0046703014082"),
        to_no: n("0046703014082"),
        final_number: n("+46703014082"),
        ..numbers("Ext.101", "0046703014082")
    };
    assert_eq!(
        counterpart(&classify_default(&cdr)).as_deref(),
        Some("+46703014082")
    );
}

#[test]
fn outbound_counterpart_falls_back_to_dial_no() {
    // final-number absent, or internal (forwarded back in): dial-no is the outside number.
    let mut cdr = Cdr {
        from_dn: s("101"),
        to_no: n("Ext.10020"),
        dial_no: n("9075551234"),
        ..numbers("Ext.101", "9075551234")
    };
    assert_eq!(
        counterpart(&classify_default(&cdr)).as_deref(),
        Some("9075551234")
    );
    cdr.final_number = n("Ext.102");
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Outbound);
    assert_eq!(counterpart(&c).as_deref(), Some("9075551234"));
}

#[test]
fn internal_owner_is_caller_and_counterpart_is_to_no() {
    let cdr = Cdr {
        from_dn: s("195"),
        to_dn: s("196"),
        final_number: n("Ext.197"),
        final_dn: s("197"),
        ..numbers("Ext.195", "Ext.196")
    };
    let c = classify_default(&cdr);
    assert_eq!(c.direction, Direction::Internal);
    assert_eq!(owner(&c), Some("195"));
    assert_eq!(counterpart(&c).as_deref(), Some("Ext.196"));
}

#[test]
fn from_type_extension_owner_is_from_dn() {
    let cdr = Cdr {
        from_no: n("Backup"),
        from_dn: s("10016"),
        to_no: n("+46703014082"),
        ..typed("Extension", "Line", "Line")
    };
    let c = classify_default(&cdr);
    assert_eq!(c.rule, Rule::ToTypeExternal);
    assert_eq!(owner(&c), Some("10016"));
}

#[test]
fn unknown_direction_has_no_owner_or_counterpart() {
    let cdr = Cdr {
        from_dn: s("101"),
        ..numbers("Ext.101", "123456")
    };
    let c = classify_default(&cdr);
    assert_class(&c, Direction::Unknown, Rule::Undetermined, None, None);
}

// ---------------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------------

#[test]
fn direction_and_rule_display() {
    assert_eq!(Direction::Inbound.to_string(), "INBOUND");
    assert_eq!(Direction::Outbound.to_string(), "OUTBOUND");
    assert_eq!(Direction::Internal.to_string(), "INTERNAL");
    assert_eq!(Direction::Unknown.to_string(), "UNKNOWN");
    let rules = [
        Rule::FromTypeExternal,
        Rule::ToTypeExternal,
        Rule::InternalTypes,
        Rule::FromTrunkDn,
        Rule::ToTrunkDn,
        Rule::ExternalCallerNumber,
        Rule::ExternalCalleeNumber,
        Rule::InternalNumbers,
        Rule::Undetermined,
    ];
    let texts: std::collections::HashSet<String> = rules.iter().map(ToString::to_string).collect();
    assert_eq!(texts.len(), rules.len(), "each rule has its own text");
    assert!(texts.iter().all(|t| !t.is_empty()));
}

#[test]
fn missed_inbound_without_final_dn_or_chain_is_owned_by_the_extension_it_rang() {
    let line = "Call 23219,00000172FF3328E8_4479,,2020/06/29 08:30:42,,2020/06/29 08:30:50,Failed_Cancelled,0466452265,Ext.196,10000,196,196,,,,,,,,";
    let cdr = pbx_core::cdr::CdrParser::new(pbx_core::cdr::FieldTemplate::v16_20())
        .parse_line(1, line)
        .unwrap();
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner.as_deref(), Some("196"));
    // …but never a queue it rang.
    let policy = DirectionPolicy {
        service_dns: vec!["196".into()],
        ..DirectionPolicy::default()
    };
    assert_eq!(classify(&cdr, &policy).owner, None);
}
