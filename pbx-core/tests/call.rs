//! Integration tests of `pbx_core::call::CallMapper`: CDR → the call API's `PbxCallRequest`.

mod common;

use common::{s, utc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use pbx_core::call::{
    CallDirection, CallMapper, CallRequest, InternalCalls, Mapped, SkipReason, api_timestamp,
    pbx_call_id,
};
use pbx_core::cdr::{Cdr, CdrParser, FieldTemplate, PartyNumber, PartyType};
use pbx_core::extensions::{ExtensionMap, OwnerFallback, User};
use pbx_core::phone::Region;
use pbx_core::{Error, Location};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn n(raw: &str) -> Option<PartyNumber> {
    Some(PartyNumber::parse(raw))
}

/// An answered inbound call from 9075551234 to extension 101: 300 s talk, typed (v20 layout).
fn inbound() -> Cdr {
    let start = utc(2025, 1, 21, 19, 30, 0);
    Cdr {
        history_id: s("12345"),
        call_id: s("00000194A1B2C3D4_77"),
        duration: Some(Duration::from_secs(300)),
        time_start: Some(start),
        time_answered: Some(start + chrono::TimeDelta::seconds(5)),
        time_end: Some(start + chrono::TimeDelta::seconds(305)),
        from_no: n("9075551234"),
        from_dn: s("10000"),
        to_no: n("Ext.101"),
        to_dn: s("101"),
        final_number: n("Ext.101"),
        final_dn: s("101"),
        from_type: Some(PartyType::ExternalLine),
        to_type: Some(PartyType::Extension),
        final_type: Some(PartyType::Extension),
        ..Cdr::default()
    }
}

/// An answered outbound call from extension 102 to +14155550199: 42 s talk, no type fields.
fn outbound() -> Cdr {
    let start = utc(2025, 7, 4, 16, 0, 0);
    Cdr {
        history_id: s("12346"),
        call_id: s("00000194A1B2C3D4_78"),
        duration: Some(Duration::from_secs(42)),
        time_start: Some(start),
        time_answered: Some(start + chrono::TimeDelta::seconds(8)),
        time_end: Some(start + chrono::TimeDelta::seconds(50)),
        from_no: n("Ext.102"),
        from_dn: s("102"),
        to_no: n("+1 (415) 555-0199"),
        dial_no: n("+1 (415) 555-0199"),
        to_dn: s("10000"),
        ..Cdr::default()
    }
}

/// An unanswered internal call 195 → 196.
fn internal() -> Cdr {
    Cdr {
        history_id: s("23219"),
        call_id: s("00000172FF3328E8_4479"),
        time_start: Some(utc(2020, 6, 29, 8, 30, 42)),
        time_end: Some(utc(2020, 6, 29, 8, 30, 50)),
        from_no: n("Ext.195"),
        from_dn: s("195"),
        to_no: n("Ext.196"),
        to_dn: s("196"),
        dial_no: n("196"),
        ..Cdr::default()
    }
}

fn users() -> ExtensionMap {
    [
        User::new("101", "john.doe@example.com"),
        User::new("102", "bob.smith@example.com"),
        User::new("194", "eva@example.com"),
        User::new("195", "anna@example.com"),
        User::new("10016", "backup@example.com"),
    ]
    .into_iter()
    .collect()
}

fn mapper() -> CallMapper {
    CallMapper::default().with_extensions(users())
}

fn mapper_in(tz: Tz) -> CallMapper {
    let mut m = mapper();
    m.options_mut().timezone = tz;
    m
}

#[track_caller]
fn call(m: &CallMapper, cdr: &Cdr) -> CallRequest {
    match m.map(cdr).expect("map") {
        Mapped::Call(c) => c,
        other => panic!("expected a call, got {other:?}"),
    }
}

#[track_caller]
fn skipped(m: &CallMapper, cdr: &Cdr) -> SkipReason {
    match m.map(cdr).expect("map") {
        Mapped::Skipped(r) => r,
        other => panic!("expected a skip, got {other:?}"),
    }
}

fn json(c: &CallRequest) -> String {
    serde_json::to_string(c).unwrap()
}

/// The timestamp of `inbound()` started at `t` and mapped in `tz`.
fn timestamp_at(t: DateTime<Utc>, tz: Tz) -> String {
    let cdr = Cdr {
        time_start: Some(t),
        ..inbound()
    };
    call(&mapper_in(tz), &cdr).timestamp
}

// ---------------------------------------------------------------------------------------------
// Exact JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn inbound_json_is_exact() {
    let c = call(&mapper_in(chrono_tz::America::Anchorage), &inbound());
    assert_eq!(
        json(&c),
        r#"{"phoneNumber":"+19075551234","callDuration":300,"callOwnerExtension":"101","callOwnerEmail":"john.doe@example.com","callDirection":"INBOUND","timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-12345-00000194A1B2C3D4_77"}"#
    );
}

#[test]
fn outbound_json_is_exact() {
    let c = call(&mapper_in(chrono_tz::America::New_York), &outbound());
    assert_eq!(
        json(&c),
        r#"{"phoneNumber":"+14155550199","callDuration":42,"callOwnerExtension":"102","callOwnerEmail":"bob.smith@example.com","callDirection":"OUTBOUND","timestamp":"2025-07-04T12:00:00.000-04:00","pbxCallId":"3cx-12346-00000194A1B2C3D4_78"}"#
    );
}

#[test]
fn json_has_exactly_the_api_fields() {
    let c = call(&mapper(), &inbound());
    let v: serde_json::Value = serde_json::from_str(&json(&c)).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "callDirection",
            "callDuration",
            "callOwnerEmail",
            "callOwnerExtension",
            "pbxCallId",
            "phoneNumber",
            "timestamp"
        ]
    );
    assert!(obj["callDuration"].is_u64());
    assert!(obj["phoneNumber"].is_string());
    // And it reads back to the same request.
    let back: CallRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, c);
}

#[test]
fn call_direction_serializes_in_capitals() {
    assert_eq!(
        serde_json::to_string(&CallDirection::Inbound).unwrap(),
        r#""INBOUND""#
    );
    assert_eq!(
        serde_json::to_string(&CallDirection::Outbound).unwrap(),
        r#""OUTBOUND""#
    );
}

#[test]
fn documented_examples_map_to_exact_json() {
    let v16 = CdrParser::new(FieldTemplate::v16_20());
    let line = "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,,,,,Chain: 0466452265;Ext.611;Ext.194;";
    let cdr = v16.parse_line(1, line).unwrap();
    // A Swedish PBX: the national number 0466452265 is +46 466452265.
    let mut se = mapper_in(chrono_tz::Europe::Stockholm);
    se.options_mut().default_region = Region::parse("region", "SE").unwrap();
    let c = call(&se, &cdr);
    assert_eq!(
        json(&c),
        r#"{"phoneNumber":"+46466452265","callDuration":223,"callOwnerExtension":"194","callOwnerEmail":"eva@example.com","callDirection":"INBOUND","timestamp":"2020-06-29T09:56:32.000+02:00","pbxCallId":"3cx-23194-00000172FF13E364_4449"}"#
    );

    let v20 = CdrParser::new(FieldTemplate::v20_27());
    let line = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,,+46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,Line,Backup no2,+46703014082,+46703014082,";
    let cdr = v20.parse_line(1, line).unwrap();
    let c = call(&mapper(), &cdr);
    assert_eq!(
        json(&c),
        r#"{"phoneNumber":"+46703014082","callDuration":25,"callOwnerExtension":"10016","callOwnerEmail":"backup@example.com","callDirection":"OUTBOUND","timestamp":"2024-06-17T05:59:49.000+00:00","pbxCallId":"3cx-288831-4cc2c72490010000_26808"}"#
    );
}

#[test]
fn withheld_caller_is_sent_as_anonymous() {
    let cdr = Cdr {
        from_no: n("Anonymous"),
        ..inbound()
    };
    assert_eq!(call(&mapper(), &cdr).phone_number, "anonymous");
}

// ---------------------------------------------------------------------------------------------
// Timestamps: configured zone, milliseconds, offset, DST
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_new_york_winter_and_summer() {
    let tz = chrono_tz::America::New_York;
    assert_eq!(
        timestamp_at(utc(2025, 1, 15, 15, 0, 0), tz),
        "2025-01-15T10:00:00.000-05:00"
    );
    assert_eq!(
        timestamp_at(utc(2025, 7, 15, 15, 0, 0), tz),
        "2025-07-15T11:00:00.000-04:00"
    );
}

#[test]
fn timestamp_new_york_across_the_spring_forward() {
    // 2025-03-09 02:00 local does not exist: 01:59:59 EST is followed by 03:00:00 EDT.
    let tz = chrono_tz::America::New_York;
    assert_eq!(
        timestamp_at(utc(2025, 3, 9, 6, 59, 59), tz),
        "2025-03-09T01:59:59.000-05:00"
    );
    assert_eq!(
        timestamp_at(utc(2025, 3, 9, 7, 0, 0), tz),
        "2025-03-09T03:00:00.000-04:00"
    );
}

#[test]
fn timestamp_new_york_across_the_fall_back() {
    // 2025-11-02 01:30 local happens twice; the offset tells them apart.
    let tz = chrono_tz::America::New_York;
    assert_eq!(
        timestamp_at(utc(2025, 11, 2, 5, 30, 0), tz),
        "2025-11-02T01:30:00.000-04:00"
    );
    assert_eq!(
        timestamp_at(utc(2025, 11, 2, 6, 30, 0), tz),
        "2025-11-02T01:30:00.000-05:00"
    );
}

#[test]
fn timestamp_anchorage_winter_and_summer() {
    let tz = chrono_tz::America::Anchorage;
    assert_eq!(
        timestamp_at(utc(2025, 1, 21, 19, 30, 0), tz),
        "2025-01-21T10:30:00.000-09:00"
    );
    assert_eq!(
        timestamp_at(utc(2025, 7, 21, 19, 30, 0), tz),
        "2025-07-21T11:30:00.000-08:00"
    );
}

#[test]
fn timestamp_utc_has_explicit_zero_offset() {
    assert_eq!(
        timestamp_at(utc(2025, 1, 21, 19, 30, 0), chrono_tz::UTC),
        "2025-01-21T19:30:00.000+00:00"
    );
    // The default mapper uses UTC.
    assert_eq!(
        call(&mapper(), &inbound()).timestamp,
        "2025-01-21T19:30:00.000+00:00"
    );
}

#[test]
fn timestamp_lord_howe_half_hour_dst() {
    let tz = chrono_tz::Australia::Lord_Howe;
    // January is summer: +11:00 (DST is only 30 minutes there).
    assert_eq!(
        timestamp_at(utc(2025, 1, 21, 19, 30, 0), tz),
        "2025-01-22T06:30:00.000+11:00"
    );
    // July is winter: +10:30.
    assert_eq!(
        timestamp_at(utc(2025, 7, 21, 19, 30, 0), tz),
        "2025-07-22T06:00:00.000+10:30"
    );
}

#[test]
fn timestamp_crosses_the_date_line_back() {
    // Late evening UTC on 31 Dec is still 31 Dec in New York, early 1 Jan in Lord Howe.
    let t = utc(2024, 12, 31, 23, 59, 59);
    assert_eq!(
        timestamp_at(t, chrono_tz::America::New_York),
        "2024-12-31T18:59:59.000-05:00"
    );
    assert_eq!(
        timestamp_at(t, chrono_tz::Australia::Lord_Howe),
        "2025-01-01T10:59:59.000+11:00"
    );
}

#[test]
fn timestamp_keeps_milliseconds_and_drops_finer_digits() {
    let t = utc(2025, 1, 21, 19, 30, 0) + chrono::TimeDelta::nanoseconds(123_456_789);
    assert_eq!(
        timestamp_at(t, chrono_tz::America::Anchorage),
        "2025-01-21T10:30:00.123-09:00"
    );
    assert_eq!(
        api_timestamp(t, chrono_tz::UTC),
        "2025-01-21T19:30:00.123+00:00"
    );
}

// ---------------------------------------------------------------------------------------------
// callDuration
// ---------------------------------------------------------------------------------------------

#[test]
fn call_duration_is_talk_seconds() {
    assert_eq!(call(&mapper(), &inbound()).call_duration, 300);
    // Talk time, not ring + talk: from the duration field, not start → end (305 s).
    let cdr = inbound();
    assert_eq!(
        (cdr.time_end.unwrap() - cdr.time_start.unwrap()).num_seconds(),
        305
    );
}

#[test]
fn call_duration_from_answer_and_end_without_duration_field() {
    let cdr = Cdr {
        duration: None,
        ..inbound()
    };
    assert_eq!(call(&mapper(), &cdr).call_duration, 300);
}

#[test]
fn call_duration_is_zero_when_unanswered() {
    let cdr = Cdr {
        duration: None,
        time_answered: None,
        ..inbound()
    };
    assert_eq!(call(&mapper(), &cdr).call_duration, 0);
    let c = call(
        &mapper(),
        &Cdr {
            duration: None,
            time_answered: None,
            ..outbound()
        },
    );
    assert_eq!(c.call_duration, 0);
    assert!(json(&c).contains(r#""callDuration":0,"#));
}

// ---------------------------------------------------------------------------------------------
// pbxCallId
// ---------------------------------------------------------------------------------------------

#[test]
fn pbx_call_id_is_stable() {
    let m = mapper();
    let a = call(&m, &inbound());
    let b = call(&m, &inbound());
    assert_eq!(a.pbx_call_id, "3cx-12345-00000194A1B2C3D4_77");
    assert_eq!(a.pbx_call_id, b.pbx_call_id);
    // Independent of the timezone and mapping settings.
    let other = call(&mapper_in(chrono_tz::America::New_York), &inbound());
    assert_eq!(other.pbx_call_id, a.pbx_call_id);
}

#[test]
fn pbx_call_id_is_unique_per_history_and_call_id() {
    let m = mapper();
    let ids: Vec<String> = [("1", "a_1"), ("1", "a_2"), ("2", "a_1"), ("12", "a_1")]
        .into_iter()
        .map(|(h, c)| {
            call(
                &m,
                &Cdr {
                    history_id: s(h),
                    call_id: s(c),
                    ..inbound()
                },
            )
            .pbx_call_id
        })
        .collect();
    assert_eq!(ids, ["3cx-1-a_1", "3cx-1-a_2", "3cx-2-a_1", "3cx-12-a_1"]);
}

#[test]
fn pbx_call_id_with_one_id_and_custom_prefix() {
    let mut cdr = inbound();
    cdr.call_id = None;
    assert_eq!(pbx_call_id(&cdr, "3cx").as_deref(), Some("3cx-12345"));
    assert_eq!(call(&mapper(), &cdr).pbx_call_id, "3cx-12345");
    let mut cdr = inbound();
    cdr.history_id = None;
    assert_eq!(call(&mapper(), &cdr).pbx_call_id, "3cx-00000194A1B2C3D4_77");
    let mut m = mapper();
    m.options_mut().call_id_prefix = "pbx-east".into();
    assert_eq!(
        call(&m, &inbound()).pbx_call_id,
        "pbx-east-12345-00000194A1B2C3D4_77"
    );
}

// ---------------------------------------------------------------------------------------------
// Internal calls
// ---------------------------------------------------------------------------------------------

#[test]
fn internal_calls_are_skipped_by_default() {
    assert_eq!(skipped(&mapper(), &internal()), SkipReason::Internal);
    assert_eq!(InternalCalls::default(), InternalCalls::Skip);
}

#[test]
fn internal_calls_as_outbound() {
    let mut m = mapper();
    m.options_mut().internal_calls = InternalCalls::AsOutbound;
    let c = call(&m, &internal());
    assert_eq!(
        json(&c),
        r#"{"phoneNumber":"196","callDuration":0,"callOwnerExtension":"195","callOwnerEmail":"anna@example.com","callDirection":"OUTBOUND","timestamp":"2020-06-29T08:30:42.000+00:00","pbxCallId":"3cx-23219-00000172FF3328E8_4479"}"#
    );
}

#[test]
fn as_outbound_does_not_change_inbound_or_outbound_calls() {
    let mut m = mapper();
    m.options_mut().internal_calls = InternalCalls::AsOutbound;
    assert_eq!(call(&m, &inbound()).call_direction, CallDirection::Inbound);
    assert_eq!(
        call(&m, &outbound()).call_direction,
        CallDirection::Outbound
    );
}

// ---------------------------------------------------------------------------------------------
// Other skips
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_direction_is_skipped() {
    let cdr = Cdr {
        history_id: s("9"),
        call_id: s("x_9"),
        time_start: Some(utc(2025, 1, 1, 0, 0, 0)),
        from_no: n("Ext.101"),
        dial_no: n("123456"),
        ..Cdr::default()
    };
    assert_eq!(skipped(&mapper(), &cdr), SkipReason::UnknownDirection);
}

#[test]
fn inbound_only_reaching_a_queue_has_no_owner() {
    let cdr = Cdr {
        duration: None,
        time_answered: None,
        to_no: n("Ext.800"),
        to_dn: s("800"),
        final_number: n("Ext.800"),
        final_dn: s("800"),
        to_type: Some(PartyType::Queue),
        final_type: Some(PartyType::Queue),
        chain: pbx_core::cdr::parse_chain("Chain: 9075551234;Ext.800;"),
        ..inbound()
    };
    let mut old = mapper();
    old.missed_calls_mut().enabled = false;
    assert_eq!(skipped(&old, &cdr), SkipReason::NoOwner);
    // A missed call no route takes: skipped naming the queue.
    assert_eq!(
        skipped(&mapper(), &cdr),
        SkipReason::MissedUnrouted { dn: "800".into() }
    );
}

#[test]
fn owner_without_email_is_skipped_with_the_extension() {
    let cdr = Cdr {
        to_no: n("Ext.555"),
        to_dn: s("555"),
        final_number: n("Ext.555"),
        final_dn: s("555"),
        ..inbound()
    };
    assert_eq!(
        skipped(&mapper(), &cdr),
        SkipReason::NoOwnerEmail {
            extension: "555".into()
        }
    );
}

#[test]
fn default_email_fallback_avoids_no_owner_email() {
    let cdr = Cdr {
        to_no: n("Ext.555"),
        to_dn: s("555"),
        final_number: n("Ext.555"),
        final_dn: s("555"),
        ..inbound()
    };
    let m = CallMapper::default().with_extensions(
        users().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
    );
    let c = call(&m, &cdr);
    assert_eq!(c.call_owner_extension, "555");
    assert_eq!(c.call_owner_email, "pbx@example.com");
    // A mapped extension still gets its own email.
    assert_eq!(
        call(&m, &inbound()).call_owner_email,
        "john.doe@example.com"
    );
}

#[test]
fn empty_extension_map_skips_every_call() {
    let m = CallMapper::default();
    assert_eq!(
        skipped(&m, &outbound()),
        SkipReason::NoOwnerEmail {
            extension: "102".into()
        }
    );
}

#[test]
fn every_skip_reason_has_a_message() {
    let reasons = [
        SkipReason::Internal,
        SkipReason::UnknownDirection,
        SkipReason::NoOwner,
        SkipReason::NoOwnerEmail {
            extension: "555".into(),
        },
        SkipReason::BlankLine,
    ];
    for r in &reasons {
        assert!(!r.to_string().trim().is_empty(), "{r:?}");
    }
    assert!(
        SkipReason::NoOwnerEmail {
            extension: "555".into()
        }
        .to_string()
        .contains("555")
    );
    let texts: std::collections::HashSet<String> =
        reasons.iter().map(ToString::to_string).collect();
    assert_eq!(texts.len(), reasons.len());
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_time_start_is_an_invalid_value() {
    let cdr = Cdr {
        time_start: None,
        ..inbound()
    };
    let err = mapper().map(&cdr).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidValue {
                at: Location::Unknown,
                field: "time-start",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.field(), Some("time-start"));
    assert_eq!(err.location(), Some(&Location::Unknown));
}

#[test]
fn missing_time_start_is_an_error_even_for_internal_calls() {
    let cdr = Cdr {
        time_start: None,
        ..internal()
    };
    assert_eq!(mapper().map(&cdr).unwrap_err().field(), Some("time-start"));
}

#[test]
fn missing_ids_is_an_invalid_value() {
    let cdr = Cdr {
        history_id: None,
        call_id: None,
        ..inbound()
    };
    let err = mapper().map(&cdr).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidValue {
                field: "historyid",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.field(), Some("historyid"));
}

#[test]
fn located_fills_in_the_location() {
    let cdr = Cdr {
        time_start: None,
        ..inbound()
    };
    let err = mapper().map(&cdr).unwrap_err().located(Location::Line(4));
    assert_eq!(err.location(), Some(&Location::Line(4)));
    assert_eq!(err.field(), Some("time-start"));
    assert!(
        err.to_string().starts_with("line 4: field `time-start`"),
        "{err}"
    );
    // Once placed, a second `located` does not move it.
    let again = err.located(Location::Row("r1".into()));
    assert_eq!(again.location(), Some(&Location::Line(4)));

    let err = mapper()
        .map(&Cdr {
            history_id: None,
            call_id: None,
            ..inbound()
        })
        .unwrap_err()
        .located(Location::Row("40001".into()));
    assert_eq!(err.location(), Some(&Location::Row("40001".into())));
    assert!(
        err.to_string().starts_with("row 40001: field `historyid`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// map_classified
// ---------------------------------------------------------------------------------------------

#[test]
fn map_classified_agrees_with_map() {
    let m = mapper();
    for cdr in [inbound(), outbound(), internal()] {
        let c = m.classify(&cdr);
        assert_eq!(m.map_classified(&cdr, &c).unwrap(), m.map(&cdr).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// phoneNumber normalization
// ---------------------------------------------------------------------------------------------

#[test]
fn phone_number_follows_the_default_region() {
    let mut m = mapper();
    let us = |m: &CallMapper, raw: &str| m.phone_number(&PartyNumber::parse(raw));
    assert_eq!(us(&m, "(907) 555-1234"), "+19075551234");
    assert_eq!(us(&m, "011 44 20 7946 0018"), "+442079460018");
    assert_eq!(us(&m, "907-555-1234 ext. 12"), "+19075551234");
    assert_eq!(us(&m, "Ext.101"), "101");
    assert_eq!(us(&m, "101"), "101");
    assert_eq!(us(&m, "sip:101@pbx.local"), "101");
    assert_eq!(us(&m, "private"), "anonymous");
    m.options_mut().default_region = Region::parse("region", "SE").unwrap();
    assert_eq!(us(&m, "00 44 20 7946 0018"), "+442079460018");
    assert_eq!(us(&m, "070-123 45 67"), "+46701234567");
}

#[test]
fn invalid_numbers_are_sent_as_their_digits() {
    let m = mapper();
    let p = |raw: &str| m.phone_number(&PartyNumber::parse(raw));
    // Too short for any US number, not an extension (six digits): digits as written.
    assert_eq!(p("555-012"), "555012");
    // An unknown country code: digits, the + kept.
    assert_eq!(p("+999 1234 5678"), "+99912345678");
    // A 3CX pseudo-destination: its digits (as before normalization).
    assert_eq!(p("PickupExt.125"), "125");
    assert_eq!(p("EndCall"), "EndCall");
}
