//! Integration tests of the database row model: `cdroutput` legs grouped, completed and
//! assembled into one call, then classified.

mod common;

use common::{at, s};
use std::time::Duration;

use pbx_core::call::{CallDirection, CallMapper, Mapped};
use pbx_core::cdr::{
    CallLegs, CdrLeg, LegParty, PartyNumber, PartyType, assemble_call, group_legs,
};
use pbx_core::direction::{Direction, DirectionPolicy, Rule, classify};
use pbx_core::extensions::User;
use pbx_core::{Error, Location};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An outside party on trunk 10000.
fn external(number: &str, incoming: bool) -> LegParty {
    LegParty {
        entity_type: s("external_line"),
        dn_type: s("provider"),
        dn_number: s("10000"),
        dn_name: s("Main trunk"),
        participant_name: s(number),
        participant_phone_number: s(number),
        participant_trunk_did: s("+19075550100"),
        participant_is_incoming: Some(incoming),
    }
}

/// A user extension.
fn ext(dn: &str) -> LegParty {
    LegParty {
        entity_type: s("extension"),
        dn_type: s("extension"),
        dn_number: s(dn),
        dn_name: Some(format!("User {dn}")),
        participant_phone_number: s(dn),
        ..LegParty::default()
    }
}

/// A service DN: `queue`, `ring_group_ring_all`, `outbound_rule`, …
fn service(entity: &str, dn: &str) -> LegParty {
    LegParty {
        entity_type: s(entity),
        dn_type: s(entity),
        dn_number: s(dn),
        ..LegParty::default()
    }
}

/// A leg of call `main`, started at `start`, answered and ended at the given offsets.
fn leg(
    id: &str,
    main: &str,
    (source, destination): (LegParty, LegParty),
    start: i64,
    answered: Option<i64>,
    end: Option<i64>,
) -> CdrLeg {
    CdrLeg {
        cdr_id: id.to_owned(),
        call_history_id: main.to_owned(),
        main_call_history_id: main.to_owned(),
        source,
        destination,
        creation_method: s("call_init"),
        creation_forward_reason: s("none"),
        termination_reason: s("src_participant_terminated"),
        started_at: Some(at(start)),
        answered_at: answered.map(at),
        ended_at: end.map(at),
        ..CdrLeg::default()
    }
}

/// A queue poll of an agent.
fn poll(id: &str, main: &str, agent: &str, start: i64, answered: Option<i64>, end: i64) -> CdrLeg {
    CdrLeg {
        creation_method: s("route_to"),
        creation_forward_reason: s("polling"),
        termination_reason: s(if answered.is_some() {
            "dst_participant_terminated"
        } else {
            "cancelled"
        }),
        originating_cdr_id: s("q1"),
        ..leg(
            id,
            main,
            (external(CALLER, true), ext(agent)),
            start,
            answered,
            Some(end),
        )
    }
}

const CALLER: &str = "+19075550142";

/// An inbound call to queue 800: agents 101 and 102 polled and not answering, then 103 not
/// answering and 104 answering at +22 s; the caller hangs up at +80 s. `queue_answered`: the
/// queue itself answered the caller (to play hold music) at that offset.
fn inbound_via_queue(queue_answered: Option<i64>) -> Vec<CdrLeg> {
    let queue_leg = CdrLeg {
        termination_reason: s("continued_in"),
        ..leg(
            "q1",
            "m-in",
            (external(CALLER, true), service("queue", "800")),
            0,
            queue_answered,
            Some(80),
        )
    };
    // Arrival order deliberately not start order.
    vec![
        poll("p4", "m-in", "104", 20, Some(22), 80),
        poll("p1", "m-in", "101", 3, None, 20),
        queue_leg,
        poll("p3", "m-in", "103", 20, None, 22),
        poll("p2", "m-in", "102", 3, None, 20),
    ]
}

/// An outbound call from extension 101 to +46703014082 via trunk 10020, answered at +9 s,
/// ended at +34 s.
fn outbound_direct() -> Vec<CdrLeg> {
    let mut dest = external("+46703014082", false);
    dest.dn_number = s("10020");
    vec![leg("o1", "m-out", (ext("101"), dest), 0, Some(9), Some(34))]
}

/// A mapper that knows one user.
fn mapper_for(extension: &str, email: &str) -> CallMapper {
    CallMapper::default().with_extensions([User::new(extension, email)].into_iter().collect())
}

fn one_call(legs: Vec<CdrLeg>) -> CallLegs {
    let mut calls = group_legs(legs);
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls.remove(0)
}

fn ids(call: &CallLegs) -> Vec<&str> {
    call.legs.iter().map(|l| l.cdr_id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// group_legs
// ---------------------------------------------------------------------------------------------

#[test]
fn legs_out_of_order_are_grouped_and_ordered_by_start() {
    let legs = vec![
        leg("b2", "m2", (ext("101"), ext("102")), 10, None, Some(15)),
        leg("a3", "m1", (ext("103"), ext("104")), 30, None, Some(40)),
        leg("a1", "m1", (ext("103"), ext("104")), 0, None, Some(40)),
        leg("b1", "m2", (ext("101"), ext("102")), 5, None, Some(15)),
        leg("a2", "m1", (ext("103"), ext("104")), 20, None, Some(40)),
    ];
    let calls = group_legs(legs);
    assert_eq!(calls.len(), 2);
    // Calls in the order each first appears.
    assert_eq!(calls[0].main_call_history_id, "m2");
    assert_eq!(calls[1].main_call_history_id, "m1");
    assert_eq!(ids(&calls[0]), ["b1", "b2"]);
    assert_eq!(ids(&calls[1]), ["a1", "a2", "a3"]);
}

#[test]
fn legs_starting_together_are_ordered_by_cdr_id() {
    let call = one_call(inbound_via_queue(None));
    assert_eq!(ids(&call), ["q1", "p1", "p2", "p3", "p4"]);
}

#[test]
fn group_legs_of_nothing_is_empty() {
    assert!(group_legs(Vec::new()).is_empty());
}

#[test]
fn grouping_is_by_main_call_history_id_not_call_history_id() {
    // A transfer joins a second flow into the first: both belong to one call.
    let mut joined = leg("j2", "m1", (ext("101"), ext("102")), 10, Some(11), Some(30));
    joined.call_history_id = "flow-2".into();
    let first = leg("j1", "m1", (ext("103"), ext("101")), 0, Some(2), Some(30));
    let call = one_call(vec![joined, first]);
    assert_eq!(call.main_call_history_id, "m1");
    assert_eq!(ids(&call), ["j1", "j2"]);
}

// ---------------------------------------------------------------------------------------------
// is_complete
// ---------------------------------------------------------------------------------------------

#[test]
fn incomplete_while_any_leg_is_open() {
    let mut legs = inbound_via_queue(None);
    legs[0].ended_at = None; // the answered agent is still talking
    let call = one_call(legs);
    let settle = Duration::from_secs(10);
    assert!(!call.is_complete(at(80), settle));
    assert!(!call.is_complete(at(86_400), settle));
    assert!(!call.is_complete(at(86_400), Duration::ZERO));
}

#[test]
fn incomplete_within_settle_time_complete_after() {
    let call = one_call(inbound_via_queue(None));
    let settle = Duration::from_secs(10);
    assert!(!call.is_complete(at(79), settle));
    assert!(!call.is_complete(at(80), settle));
    assert!(!call.is_complete(at(89), settle));
    assert!(call.is_complete(at(90), settle));
    assert!(call.is_complete(at(3600), settle));
}

#[test]
fn settle_counts_from_the_latest_leg() {
    // The first leg ended long ago, a later leg only just: the call is not yet settled.
    let legs = vec![
        leg("a", "m", (ext("101"), ext("102")), 0, None, Some(5)),
        leg("b", "m", (ext("101"), ext("103")), 6, Some(8), Some(60)),
    ];
    let call = one_call(legs);
    let settle = Duration::from_secs(30);
    assert!(!call.is_complete(at(40), settle));
    assert!(!call.is_complete(at(89), settle));
    assert!(call.is_complete(at(90), settle));
}

#[test]
fn zero_settle_is_complete_at_the_end() {
    let call = one_call(outbound_direct());
    assert!(!call.is_complete(at(33), Duration::ZERO));
    assert!(call.is_complete(at(34), Duration::ZERO));
}

#[test]
fn huge_settle_never_completes_and_does_not_panic() {
    let call = one_call(outbound_direct());
    assert!(!call.is_complete(at(1_000_000), Duration::MAX));
}

#[test]
fn no_legs_is_never_complete() {
    let call = CallLegs {
        main_call_history_id: "m".into(),
        legs: Vec::new(),
    };
    assert!(!call.is_complete(at(1_000_000), Duration::ZERO));
}

// ---------------------------------------------------------------------------------------------
// assemble_call + classify: inbound via queue
// ---------------------------------------------------------------------------------------------

#[test]
fn inbound_via_queue_assembles_with_agent_as_final_party() {
    let cdr = assemble_call(&one_call(inbound_via_queue(None))).unwrap();
    assert_eq!(cdr.history_id.as_deref(), Some("m-in"));
    assert_eq!(cdr.call_id, None);
    // Caller and callee are not swapped.
    assert_eq!(cdr.from_type, Some(PartyType::ExternalLine));
    assert_eq!(cdr.from_no, Some(PartyNumber::Number(CALLER.into())));
    assert_eq!(cdr.from_dn.as_deref(), Some("10000"));
    assert_eq!(cdr.to_type, Some(PartyType::Queue));
    assert_eq!(cdr.to_no, Some(PartyNumber::Extension("800".into())));
    assert_eq!(cdr.to_dn.as_deref(), Some("800"));
    // The agent who answered, not the queue and not a polled agent.
    assert_eq!(cdr.final_type, Some(PartyType::Extension));
    assert_eq!(cdr.final_dn.as_deref(), Some("104"));
    assert_eq!(cdr.final_number, Some(PartyNumber::Extension("104".into())));
    assert_eq!(cdr.final_dispname.as_deref(), Some("User 104"));
    // Times: start of the first leg, answer by the agent, end of the last leg.
    assert_eq!(cdr.time_start, Some(at(0)));
    assert_eq!(cdr.time_answered, Some(at(22)));
    assert_eq!(cdr.time_end, Some(at(80)));
    assert_eq!(cdr.duration, Some(Duration::from_secs(58)));
    assert_eq!(cdr.talk_seconds(), 58);
    assert!(cdr.is_answered());
    // Polls that were not answered are noise: not in the chain.
    assert_eq!(
        cdr.chain,
        [
            PartyNumber::Number(CALLER.into()),
            PartyNumber::Extension("800".into()),
            PartyNumber::Extension("104".into()),
        ]
    );
}

#[test]
fn inbound_via_queue_classifies_inbound_owned_by_agent() {
    let cdr = assemble_call(&one_call(inbound_via_queue(None))).unwrap();
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.rule, Rule::FromTypeExternal);
    assert_eq!(c.owner.as_deref(), Some("104"));
    assert_eq!(c.counterpart, Some(PartyNumber::Number(CALLER.into())));
}

#[test]
fn inbound_via_queue_that_answered_for_hold_music_times_talk_from_the_agent() {
    // The queue leg itself is answered at +1 s (hold music); talk starts when 104 answers.
    let cdr = assemble_call(&one_call(inbound_via_queue(Some(1)))).unwrap();
    assert_eq!(cdr.final_dn.as_deref(), Some("104"));
    assert_eq!(cdr.time_answered, Some(at(22)));
    assert_eq!(cdr.talk_seconds(), 58);
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner.as_deref(), Some("104"));
}

#[test]
fn inbound_via_queue_maps_to_the_api_request() {
    let cdr = assemble_call(&one_call(inbound_via_queue(None))).unwrap();
    let mut mapper = mapper_for("104", "agent104@example.com");
    mapper.options_mut().timezone = chrono_tz::America::Anchorage;
    let Mapped::Call(call) = mapper.map(&cdr).unwrap() else {
        panic!("skipped")
    };
    assert_eq!(
        serde_json::to_string(&call).unwrap(),
        r#"{"phoneNumber":"+19075550142","callDuration":58,"callOwnerExtension":"104","callOwnerEmail":"agent104@example.com","callDirection":"INBOUND","timestamp":"2026-11-02T09:00:00.000-09:00","pbxCallId":"3cx-m-in"}"#
    );
}

#[test]
fn polling_reason_is_case_insensitive() {
    let mut legs = inbound_via_queue(None);
    for l in &mut legs {
        if l.creation_forward_reason.as_deref() == Some("polling") {
            l.creation_forward_reason = s("Polling");
        }
    }
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert_eq!(cdr.chain.len(), 3);
    assert_eq!(cdr.final_dn.as_deref(), Some("104"));
}

#[test]
fn inbound_via_queue_unanswered_has_no_owner() {
    let legs: Vec<CdrLeg> = inbound_via_queue(None)
        .into_iter()
        .map(|mut l| {
            l.answered_at = None;
            l
        })
        .collect();
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert!(!cdr.is_answered());
    assert_eq!(cdr.talk_seconds(), 0);
    assert_eq!(cdr.final_type, Some(PartyType::Queue));
    assert_eq!(cdr.final_dn.as_deref(), Some("800"));
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner, None);
    assert_eq!(c.counterpart, Some(PartyNumber::Number(CALLER.into())));
}

#[test]
fn inbound_direct_to_extension() {
    let legs = vec![leg(
        "d1",
        "m-d",
        (external("0466452265", true), ext("611")),
        0,
        Some(1),
        Some(224),
    )];
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert_eq!(cdr.talk_seconds(), 223);
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner.as_deref(), Some("611"));
    assert_eq!(c.counterpart.unwrap().as_str(), "0466452265");
}

#[test]
fn inbound_via_ring_group_owned_by_answering_member() {
    let legs = vec![
        leg(
            "r1",
            "m-rg",
            (
                external(CALLER, true),
                service("ring_group_ring_all", "700"),
            ),
            0,
            None,
            Some(4),
        ),
        leg(
            "r2",
            "m-rg",
            (external(CALLER, true), ext("111")),
            1,
            None,
            Some(4),
        ),
        leg(
            "r3",
            "m-rg",
            (external(CALLER, true), ext("112")),
            1,
            Some(4),
            Some(64),
        ),
    ];
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert_eq!(cdr.to_type, Some(PartyType::RingGroup));
    assert_eq!(cdr.final_dn.as_deref(), Some("112"));
    assert_eq!(cdr.talk_seconds(), 60);
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Inbound);
    assert_eq!(c.owner.as_deref(), Some("112"));
    assert_eq!(c.counterpart, Some(PartyNumber::Number(CALLER.into())));
}

// ---------------------------------------------------------------------------------------------
// assemble_call + classify: outbound
// ---------------------------------------------------------------------------------------------

#[test]
fn outbound_classifies_outbound_owned_by_extension() {
    let cdr = assemble_call(&one_call(outbound_direct())).unwrap();
    assert_eq!(cdr.from_type, Some(PartyType::Extension));
    assert_eq!(cdr.from_no, Some(PartyNumber::Extension("101".into())));
    assert_eq!(cdr.from_dn.as_deref(), Some("101"));
    assert_eq!(cdr.to_type, Some(PartyType::ExternalLine));
    assert_eq!(cdr.final_type, Some(PartyType::ExternalLine));
    assert_eq!(
        cdr.final_number,
        Some(PartyNumber::Number("+46703014082".into()))
    );
    assert_eq!(cdr.final_dn.as_deref(), Some("10020"));
    assert_eq!(cdr.talk_seconds(), 25);
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Outbound);
    assert_eq!(c.rule, Rule::ToTypeExternal);
    assert_eq!(c.owner.as_deref(), Some("101"));
    assert_eq!(
        c.counterpart,
        Some(PartyNumber::Number("+46703014082".into()))
    );
}

#[test]
fn outbound_via_outbound_rule_v20() {
    let mut line = external("+46703014082", false);
    line.dn_number = s("10020");
    let mut rule = service("outbound_rule", "rule-1");
    rule.participant_phone_number = s("+46703014082");
    let legs = vec![
        leg("o2", "m-or", (ext("101"), line), 1, Some(9), Some(34)),
        CdrLeg {
            termination_reason: s("continued_in"),
            continued_in_cdr_id: s("o2"),
            ..leg("o1", "m-or", (ext("101"), rule), 0, None, Some(1))
        },
    ];
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert_eq!(cdr.to_type, Some(PartyType::OutboundRule));
    assert_eq!(cdr.final_type, Some(PartyType::ExternalLine));
    assert_eq!(cdr.talk_seconds(), 25);
    let mapper = mapper_for("101", "john.doe@example.com");
    let Mapped::Call(call) = mapper.map(&cdr).unwrap() else {
        panic!("skipped")
    };
    assert_eq!(call.call_direction, CallDirection::Outbound);
    assert_eq!(call.call_owner_extension, "101");
    assert_eq!(call.phone_number, "+46703014082");
    assert_eq!(call.call_duration, 25);
    assert_eq!(call.pbx_call_id, "3cx-m-or");
}

#[test]
fn outbound_unanswered_has_zero_talk_time() {
    let mut legs = outbound_direct();
    legs[0].answered_at = None;
    let cdr = assemble_call(&one_call(legs)).unwrap();
    assert!(!cdr.is_answered());
    assert_eq!(cdr.duration, None);
    assert_eq!(cdr.talk_seconds(), 0);
    assert_eq!(
        classify(&cdr, &DirectionPolicy::default()).direction,
        Direction::Outbound
    );
}

#[test]
fn internal_legs_classify_internal() {
    let legs = vec![leg(
        "i1",
        "m-int",
        (ext("195"), ext("196")),
        0,
        None,
        Some(8),
    )];
    let cdr = assemble_call(&one_call(legs)).unwrap();
    let c = classify(&cdr, &DirectionPolicy::default());
    assert_eq!(c.direction, Direction::Internal);
    assert_eq!(c.rule, Rule::InternalTypes);
    assert_eq!(c.owner.as_deref(), Some("195"));
    assert_eq!(c.counterpart, Some(PartyNumber::Extension("196".into())));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_legs_is_invalid_call() {
    let call = CallLegs {
        main_call_history_id: "m-empty".into(),
        legs: Vec::new(),
    };
    let err = assemble_call(&call).unwrap_err();
    assert!(matches!(err, Error::InvalidCall { .. }), "{err:?}");
    assert_eq!(err.location(), Some(&Location::Row("m-empty".into())));
    assert_eq!(err.to_string(), "row m-empty: the call has no legs");
}

#[test]
fn legs_without_start_times_is_invalid_call() {
    let mut l = leg(
        "x1",
        "m-nostart",
        (ext("101"), ext("102")),
        0,
        None,
        Some(5),
    );
    l.started_at = None;
    let err = assemble_call(&one_call(vec![l])).unwrap_err();
    assert!(matches!(err, Error::InvalidCall { .. }), "{err:?}");
    assert_eq!(err.location(), Some(&Location::Row("m-nostart".into())));
}

#[test]
fn a_call_only_an_ivr_picked_up_is_unanswered() {
    let caller = external("+19075550142", true);
    let legs = vec![leg(
        "a",
        "m9",
        (caller, service("ivr", "900")),
        0,
        Some(1),
        Some(20),
    )];
    let cdr = assemble_call(&group_legs(legs)[0]).unwrap();
    assert_eq!(cdr.time_answered, None);
    assert!(!cdr.is_answered());
    assert_eq!(cdr.talk_seconds(), 0);
}

#[test]
fn a_leg_without_start_time_never_poses_as_the_first() {
    let caller = external("+19075550142", true);
    let mut odd = leg("a", "m8", (ext("105"), ext("106")), 0, None, Some(5));
    odd.started_at = None;
    let legs = vec![
        odd,
        leg("b", "m8", (caller, ext("101")), 0, Some(3), Some(30)),
    ];
    let call = &group_legs(legs)[0];
    assert_eq!(call.legs[0].cdr_id, "b");
    let cdr = assemble_call(call).unwrap();
    assert_eq!(cdr.from_type, Some(PartyType::ExternalLine));
}
