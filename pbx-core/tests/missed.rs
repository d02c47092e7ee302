//! Missed calls reach a person (issue 29, point 2): an inbound call nobody answered is logged
//! with no talk time to the person who calls back — the one extension it rang (text CDRs and
//! database legs alike), or the extension `missed_calls.route` gives the queue, ring group,
//! IVR or DID it reached (in business hours, or also outside them with `outside_hours: log`) —
//! or skipped `missed_unrouted`, naming the DN. `missed_calls.enabled: false` is the old
//! behaviour.
//!
//! The PBX: Anchorage (AKST, UTC−9 in November), business hours 09:00–17:00 on weekdays, DID
//! +1 907 555 0100 on trunk 10000, ring group 700, queue 800, IVR 900, users 101–110.

mod common;

use common::{at, s};

use pbx_core::call::{CallMapper, CallRequest, Mapped, MappedJson, SkipReason};
use pbx_core::cdr::{CallLegs, Cdr, CdrLeg, CdrParser, LegParty, group_legs};
use pbx_core::config::Config;

const DID: &str = "+19075550100";
const CALLER: &str = "+19075550142";
/// 18:00 UTC on Monday 2 November 2026 is 09:00 in Anchorage: open.
const OPEN: i64 = 0;
/// Nine hours later, 18:00 in Anchorage: closed.
const CLOSED: i64 = 9 * 3600;

fn mapper(missed: &str) -> CallMapper {
    let yaml = format!(
        "source: {{ kind: file, path: cdr.log }}\n\
         call_api: {{ base_url: 'http://localhost:8080' }}\n\
         pbx: {{ timezone: America/Anchorage }}\n\
         business_hours: {{ monday: '09:00-17:00', tuesday: '09:00-17:00' }}\n\
         extensions: {{ map: {{ {users} }} }}\n\
         {missed}",
        users = (101..=110)
            .map(|e| format!("'{e}': u{e}@example.com"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Config::from_yaml(&yaml, &|_: &str| None)
        .unwrap_or_else(|e| panic!("{e}"))
        .call_mapper()
}

const ROUTES: &str = "missed_calls: { route: { '700': '101', '800': '103', '900': '108' } }\n";

#[track_caller]
fn delivered(m: &Mapped) -> &CallRequest {
    match m {
        Mapped::Call(c) => c,
        other => panic!("not delivered: {other:?}"),
    }
}

#[track_caller]
fn skipped(m: &Mapped) -> &SkipReason {
    match m {
        Mapped::Skipped(r) => r,
        other => panic!("not skipped: {other:?}"),
    }
}

fn unrouted(dn: &str) -> SkipReason {
    SkipReason::MissedUnrouted { dn: dn.into() }
}

// ---------------------------------------------------------------------------------------------
// Database legs
// ---------------------------------------------------------------------------------------------

fn caller() -> LegParty {
    LegParty {
        entity_type: s("external_line"),
        dn_type: s("provider"),
        dn_number: s("10000"),
        participant_phone_number: s(CALLER),
        participant_trunk_did: s(DID),
        participant_is_incoming: Some(true),
        ..LegParty::default()
    }
}

fn party(kind: &str, dn: &str) -> LegParty {
    LegParty {
        entity_type: s(kind),
        dn_type: s(kind),
        dn_number: s(dn),
        participant_phone_number: s(dn),
        ..LegParty::default()
    }
}

/// A leg `start..end` seconds after `base`, answered at `answered` when given.
fn leg(
    id: &str,
    from: LegParty,
    to: LegParty,
    (start, end): (i64, i64),
    answered: Option<i64>,
    forward: &str,
) -> CdrLeg {
    CdrLeg {
        cdr_id: id.into(),
        call_history_id: "m".into(),
        main_call_history_id: "m".into(),
        source: from,
        destination: to,
        creation_method: s(if id == "a" { "call_init" } else { "route_to" }),
        creation_forward_reason: s(forward),
        termination_reason: s("src_participant_terminated"),
        started_at: Some(at(start)),
        answered_at: answered.map(at),
        ended_at: Some(at(end)),
        ..CdrLeg::default()
    }
}

fn legs(all: Vec<CdrLeg>) -> CallLegs {
    let mut calls = group_legs(all);
    assert_eq!(calls.len(), 1);
    calls.remove(0)
}

/// The DID → queue 800 (the queue answers to play music), agents 103 and 104 polled, nobody
/// answers; the caller hangs up after 95 s.
fn abandoned_queue(t: i64) -> CallLegs {
    legs(vec![
        leg(
            "a",
            caller(),
            party("inbound_routing", DID),
            (t, t),
            None,
            "none",
        ),
        leg(
            "b",
            caller(),
            party("queue", "800"),
            (t, t + 95),
            Some(t + 1),
            "none",
        ),
        leg(
            "c",
            party("queue", "800"),
            party("extension", "103"),
            (t + 2, t + 30),
            None,
            "polling",
        ),
        leg(
            "d",
            party("queue", "800"),
            party("extension", "104"),
            (t + 30, t + 60),
            None,
            "polling",
        ),
    ])
}

#[test]
fn legs_a_missed_direct_call_is_the_extension_it_rang_with_no_talk() {
    let c = legs(vec![leg(
        "a",
        caller(),
        party("extension", "105"),
        (OPEN, OPEN + 28),
        None,
        "none",
    )]);
    let m = mapper("").map_legs(&c).unwrap();
    let call = delivered(&m);
    assert_eq!(
        (
            call.call_owner_extension.as_str(),
            call.call_owner_email.as_str()
        ),
        ("105", "u105@example.com")
    );
    assert_eq!(call.call_duration, 0);
    assert_eq!(call.phone_number, CALLER);
    // Outside business hours too: the extension rung is a person, no route is needed.
    let c = legs(vec![leg(
        "a",
        caller(),
        party("extension", "105"),
        (CLOSED, CLOSED + 28),
        None,
        "none",
    )]);
    assert_eq!(
        delivered(&mapper("").map_legs(&c).unwrap()).call_owner_extension,
        "105"
    );
    // Disabled: today's behaviour for database legs, no owner.
    let off = mapper("missed_calls: { enabled: false }\n");
    assert_eq!(skipped(&off.map_legs(&c).unwrap()), &SkipReason::NoOwner);
}

#[test]
fn legs_an_ivr_forward_to_one_extension_is_that_extensions() {
    let c = legs(vec![
        leg(
            "a",
            caller(),
            party("ivr", "900"),
            (OPEN, OPEN + 10),
            Some(OPEN + 1),
            "none",
        ),
        leg(
            "b",
            caller(),
            party("extension", "108"),
            (OPEN + 10, OPEN + 40),
            None,
            "none",
        ),
    ]);
    let m = mapper(ROUTES).map_legs(&c).unwrap();
    let call = delivered(&m);
    assert_eq!(
        (call.call_owner_extension.as_str(), call.call_duration),
        ("108", 0)
    );
}

#[test]
fn legs_a_ring_group_that_rang_two_members_goes_by_the_route() {
    let c = legs(vec![
        leg(
            "a",
            caller(),
            party("ring_group_ring_all", "700"),
            (OPEN, OPEN + 30),
            None,
            "none",
        ),
        leg(
            "b",
            party("ring_group_ring_all", "700"),
            party("extension", "101"),
            (OPEN, OPEN + 30),
            None,
            "none",
        ),
        leg(
            "c",
            party("ring_group_ring_all", "700"),
            party("extension", "102"),
            (OPEN, OPEN + 30),
            None,
            "none",
        ),
    ]);
    assert_eq!(skipped(&mapper("").map_legs(&c).unwrap()), &unrouted("700"));
    let m = mapper(ROUTES).map_legs(&c).unwrap();
    assert_eq!(delivered(&m).call_owner_extension, "101");
}

#[test]
fn legs_an_abandoned_queue_call_is_routed_in_business_hours_only() {
    let m = mapper(ROUTES);
    let call = m.map_legs(&abandoned_queue(OPEN)).unwrap();
    let call = delivered(&call);
    assert_eq!(
        (
            call.call_owner_extension.as_str(),
            call.call_owner_email.as_str(),
            call.call_duration
        ),
        ("103", "u103@example.com", 0)
    );
    assert_eq!(call.timestamp, "2026-11-02T09:00:00.000-09:00");
    // Outside business hours: skipped by default …
    assert_eq!(
        skipped(&m.map_legs(&abandoned_queue(CLOSED)).unwrap()),
        &SkipReason::MissedOutsideHours
    );
    // … logged with outside_hours: log.
    let log = mapper("missed_calls: { outside_hours: log, route: { '800': '103' } }\n");
    assert_eq!(
        delivered(&log.map_legs(&abandoned_queue(CLOSED)).unwrap()).call_owner_extension,
        "103"
    );
}

#[test]
fn legs_an_unrouted_queue_call_names_the_queue_and_a_did_route_takes_it() {
    assert_eq!(
        skipped(&mapper("").map_legs(&abandoned_queue(OPEN)).unwrap()),
        &unrouted("800")
    );
    // The DID's route, written as the national number: matched by its E.164 form.
    let did = mapper("missed_calls: { route: { '9075550100': '106' } }\n");
    assert_eq!(
        delivered(&did.map_legs(&abandoned_queue(OPEN)).unwrap()).call_owner_extension,
        "106"
    );
    // The queue's own route wins over the DID's.
    let both = mapper("missed_calls: { route: { '+19075550100': '106', '800': '104' } }\n");
    assert_eq!(
        delivered(&both.map_legs(&abandoned_queue(OPEN)).unwrap()).call_owner_extension,
        "104"
    );
    // The default takes what no entry names.
    let default = mapper("missed_calls: { route: { '700': '101', default: '110' } }\n");
    assert_eq!(
        delivered(&default.map_legs(&abandoned_queue(OPEN)).unwrap()).call_owner_extension,
        "110"
    );
    // Disabled: the old skip.
    let off = mapper("missed_calls: { enabled: false, route: { '800': '103' } }\n");
    assert_eq!(
        skipped(&off.map_legs(&abandoned_queue(OPEN)).unwrap()),
        &SkipReason::NoOwner
    );
}

#[test]
fn a_route_to_an_extension_without_a_user_is_skipped_naming_it() {
    // The email comes from the extension map as for any call.
    let m = mapper("missed_calls: { route: { '800': '111' } }\n");
    assert_eq!(
        skipped(&m.map_legs(&abandoned_queue(OPEN)).unwrap()),
        &SkipReason::NoOwnerEmail {
            extension: "111".into()
        }
    );
}

#[test]
fn a_queue_forward_answered_on_a_mobile_is_not_a_missed_call() {
    let mobile = LegParty {
        participant_is_incoming: Some(false),
        participant_phone_number: s("+41791234567"),
        participant_trunk_did: None,
        ..caller()
    };
    let c = legs(vec![
        leg(
            "a",
            caller(),
            party("queue", "800"),
            (OPEN, OPEN + 30),
            Some(OPEN + 1),
            "none",
        ),
        leg(
            "b",
            caller(),
            mobile,
            (OPEN + 30, OPEN + 90),
            Some(OPEN + 35),
            "none",
        ),
    ]);
    assert_eq!(
        skipped(&mapper(ROUTES).map_legs(&c).unwrap()),
        &SkipReason::NoOwner
    );
}

// ---------------------------------------------------------------------------------------------
// CDR text lines (the 27-field layout)
// ---------------------------------------------------------------------------------------------

/// A 27-field line starting `t` seconds after 2026-11-02 18:00 UTC.
fn line(t: i64, rest: &str) -> Cdr {
    let start = at(t).format("%Y/%m/%d %H:%M:%S");
    let end = at(t + 60).format("%Y/%m/%d %H:%M:%S");
    let text = format!("Call 40010,000001A19EC79F48_5231,,{start},,{end},TerminatedBySrc,{rest}");
    CdrParser::default().parse_line(1, &text).unwrap()
}

/// Queue 800, no agent answered (the sample's line 10).
fn text_queue(t: i64) -> Cdr {
    line(
        t,
        "9075557810,Ext.800,10000,800,800,,Ext.800,800,,,,,Chain: 9075557810;Ext.800;,Line,Queue,Queue,9075557810,Support Queue,Support Queue,Ext.103;Ext.104;Ext.105;Ext.106,",
    )
}

#[test]
fn text_a_missed_direct_call_is_the_extension_it_rang_as_before() {
    // The sample's line 7: 105 rang, the caller gave up.
    let cdr = line(
        OPEN,
        "9075550166,Ext.105,10000,105,105,,Ext.105,105,,,,,Chain: 9075550166;Ext.105;,Line,Extension,Extension,9075550166,Lisa,Lisa,,",
    );
    for missed in ["", "missed_calls: { enabled: false }\n"] {
        let m = mapper(missed).map(&cdr).unwrap();
        let call = delivered(&m);
        assert_eq!(
            (call.call_owner_extension.as_str(), call.call_duration),
            ("105", 0),
            "{missed}"
        );
    }
}

#[test]
fn text_an_abandoned_queue_call_is_routed_in_business_hours_only() {
    let m = mapper(ROUTES);
    let open = m.map(&text_queue(OPEN)).unwrap();
    let call = delivered(&open);
    assert_eq!(
        (call.call_owner_extension.as_str(), call.call_duration),
        ("103", 0)
    );
    assert_eq!(call.phone_number, "+19075557810");
    assert_eq!(
        skipped(&m.map(&text_queue(CLOSED)).unwrap()),
        &SkipReason::MissedOutsideHours
    );
    let log = mapper("missed_calls: { outside_hours: log, route: { '800': '103' } }\n");
    assert_eq!(
        delivered(&log.map(&text_queue(CLOSED)).unwrap()).call_owner_extension,
        "103"
    );
    // The allocation-free path decides the same.
    let mut out = Vec::new();
    assert_eq!(
        m.map_json(&text_queue(OPEN), &mut out).unwrap(),
        MappedJson::Call
    );
    assert_eq!(out, serde_json::to_vec(call).unwrap());
    assert_eq!(
        m.map_json(&text_queue(CLOSED), &mut Vec::new()).unwrap(),
        MappedJson::Skipped(SkipReason::MissedOutsideHours)
    );
}

#[test]
fn text_an_ivr_then_general_voicemail_is_routed_by_the_ivr_or_counted_at_the_mailbox() {
    // The sample's line 13: IVR 900 → general voicemail 999 (a message of 52 s, nobody answered).
    let cdr = line(
        OPEN,
        "9075550133,Ext.900,10000,900,900,,Ext.999,999,,,,,Chain: 9075550133;Ext.900;Ext.999;,Line,Ivr,VMail,9075550133,Main Menu,Voicemail,,",
    );
    assert_eq!(skipped(&mapper("").map(&cdr).unwrap()), &unrouted("999"));
    let m = mapper(ROUTES).map(&cdr).unwrap();
    let call = delivered(&m);
    assert_eq!(
        (call.call_owner_extension.as_str(), call.call_duration),
        ("108", 0)
    );
}

#[test]
fn text_unrouted_and_disabled() {
    assert_eq!(
        skipped(&mapper("").map(&text_queue(OPEN)).unwrap()),
        &unrouted("800")
    );
    let off = mapper("missed_calls: { enabled: false, route: { '800': '103' } }\n");
    assert_eq!(
        skipped(&off.map(&text_queue(OPEN)).unwrap()),
        &SkipReason::NoOwner
    );
    // No business hours configured: every time counts as business hours.
    let mut m = mapper(ROUTES);
    m.missed_calls_mut().hours = None;
    assert_eq!(
        delivered(&m.map(&text_queue(CLOSED)).unwrap()).call_owner_extension,
        "103"
    );
}

#[test]
fn skip_reasons_have_stable_codes_and_say_what_to_do() {
    let r = unrouted("800");
    assert_eq!((r.code(), r.kind()), ("MISSED_UNROUTED", "missed_unrouted"));
    assert!(r.to_string().contains("800"), "{r}");
    assert_eq!(
        "missed_unrouted".parse::<SkipReason>().unwrap(),
        unrouted("")
    );
    assert_eq!(
        SkipReason::MissedOutsideHours.code(),
        "MISSED_OUTSIDE_HOURS"
    );
}

#[test]
fn the_configuration_is_checked_with_paths() {
    let yaml = "source: { kind: file, path: x }\ncall_api: { base_url: 'http://x' }\n\
                direction: { trunk_dns: ['10000'] }\n\
                missed_calls: { enabled: maybe, route: { '8x0': '101', '800': '10000', '700': '+19075550100', default: '' } }\n";
    let err = Config::from_yaml(yaml, &|_: &str| None).unwrap_err();
    let text = err.to_string();
    for want in [
        "missed_calls.enabled: \"maybe\" is not true or false",
        "missed_calls.route.8x0: is not a DN",
        "missed_calls.route.800: \"10000\" is not a person's extension",
        "missed_calls.route.700: \"+19075550100\" is not a person's extension",
        "missed_calls.route.default: is required",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    // The defaults: enabled, nothing routed, outside hours skipped.
    let c = Config::from_yaml(
        "source: { kind: file, path: x }\ncall_api: { base_url: 'http://x' }\n",
        &|_: &str| None,
    )
    .unwrap();
    assert!(c.missed_calls.enabled);
    assert!(c.missed_calls.route.is_empty() && c.missed_calls.default.is_none());
    assert_eq!(
        c.missed_calls.outside_hours,
        pbx_core::missed::OutsideHours::Skip
    );
}

#[test]
fn the_delivery_pipeline_routes_database_legs_like_map_legs() {
    use pbx_core::delivery::{Disposition, Pipeline};
    use pbx_core::{Checkpoint, RawRecord, SourceRecord};
    // `cl_*` segments carry no forward reason: the agents rung look like any leg.
    let segments = |t: i64| {
        legs(vec![
            leg(
                "a",
                caller(),
                party("queue", "800"),
                (t, t + 95),
                Some(t + 1),
                "none",
            ),
            leg(
                "b",
                party("queue", "800"),
                party("extension", "103"),
                (t + 2, t + 30),
                None,
                "none",
            ),
            leg(
                "c",
                party("queue", "800"),
                party("extension", "104"),
                (t + 30, t + 60),
                None,
                "none",
            ),
        ])
    };
    let cases = [
        (ROUTES, abandoned_queue(OPEN)),
        (ROUTES, abandoned_queue(CLOSED)),
        ("", abandoned_queue(OPEN)),
        ("", segments(OPEN)),
        (ROUTES, segments(OPEN)),
    ];
    for (i, (missed, call)) in cases.into_iter().enumerate() {
        let t = i;
        let mapper = mapper(missed);
        let want = match mapper.map_legs(&call).unwrap() {
            Mapped::Call(c) => Disposition::Deliver(c),
            Mapped::Skipped(r) => Disposition::Skip(r),
            other => panic!("{other:?}"),
        };
        let pipeline = Pipeline {
            mapper,
            ..Pipeline::default()
        };
        let record = SourceRecord {
            checkpoint: Checkpoint::new("m"),
            record: Ok(RawRecord::Legs(call)),
        };
        assert_eq!(
            pipeline.prepare(&record).disposition,
            want,
            "{missed} at {t}"
        );
    }
}

#[test]
fn unrouted_missed_calls_are_counted_per_dn_for_status_and_metrics() {
    use chrono::TimeDelta;
    use pbx_core::unmapped::UnmappedExtensions;
    let mut status = UnmappedExtensions::default();
    let t0 = at(0);
    // What the service does with each settled skip: count it under its DN.
    for (dn, minutes) in [("800", 0), ("800", 5), ("", 6), ("700", 70), ("800", 61)] {
        let warning = status
            .missed_unrouted_mut()
            .record(dn, t0 + TimeDelta::minutes(minutes));
        // A warning the first time a DN is seen, then at most hourly.
        let due = matches!((dn, minutes), (_, 0) | ("", 6) | ("700", 70) | ("800", 61));
        assert_eq!(warning.is_some(), due, "{dn} at {minutes} min");
    }
    let unrouted = status.missed_unrouted();
    assert_eq!(unrouted.len(), 3);
    assert!(status.is_empty(), "no extension is unmapped");
    let queue = unrouted.get("800").unwrap();
    assert_eq!(
        (queue.calls, queue.first_seen, queue.last_seen),
        (3, t0, t0 + TimeDelta::minutes(61))
    );
    let json = serde_json::to_value(unrouted).unwrap();
    assert_eq!(json["800"]["calls"], 3);
    assert_eq!(json["700"]["calls"], 1);
    assert_eq!(json[""]["calls"], 1);
    let mut metrics = String::new();
    unrouted.write_metrics(&mut metrics);
    assert!(
        metrics.starts_with("# HELP pbx_missed_unrouted_calls_total "),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE pbx_missed_unrouted_calls_total counter\n"),
        "{metrics}"
    );
    for line in [
        "pbx_missed_unrouted_calls_total{dn=\"\"} 1\n",
        "pbx_missed_unrouted_calls_total{dn=\"700\"} 1\n",
        "pbx_missed_unrouted_calls_total{dn=\"800\"} 3\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}
