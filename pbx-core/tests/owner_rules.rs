//! Who owned the call and how long they talked (issue 19): the leg rules for `cdroutput`
//! (and `cl_*` segments turned into legs), the same meaning for CDR text lines, and the
//! invariant for every source — `callOwnerExtension` is always an extension of the PBX.
//!
//! The scenarios model a small PBX: DID +1 907 555 0100 on trunk 10000, ring group 700
//! (101, 102), queue 800 (agents 103–106), IVR 900, general voicemail 999, users 101–111.

mod common;

use common::{at, s};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::call::{CallDirection, CallMapper, CallRequest, InternalCalls, Mapped, SkipReason};
use pbx_core::cdr::{
    CallLegs, Cdr, CdrLeg, CdrParser, FieldTemplate, LegParty, PartyNumber, PartyType, group_legs,
};
use pbx_core::direction::{Direction, DirectionPolicy};
use pbx_core::extensions::{ExtensionMap, OwnerFallback, User};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Leg builders
// ---------------------------------------------------------------------------------------------

const DID: &str = "+19075550100";
const CALLER: &str = "+19075550142";

fn caller(number: Option<&str>) -> LegParty {
    LegParty {
        entity_type: s("external_line"),
        dn_type: s("provider"),
        dn_number: s("10000"),
        dn_name: s("Trunk GCI"),
        participant_name: number.map(str::to_owned),
        participant_phone_number: number.map(str::to_owned),
        participant_trunk_did: s(DID),
        participant_is_incoming: Some(true),
    }
}

fn trunk_out(number: &str) -> LegParty {
    LegParty {
        participant_is_incoming: Some(false),
        participant_trunk_did: None,
        ..caller(Some(number))
    }
}

fn ext(dn: &str) -> LegParty {
    LegParty {
        entity_type: s("extension"),
        dn_type: s("extension"),
        dn_number: s(dn),
        dn_name: Some(format!("User {dn}")),
        participant_phone_number: s(dn),
        participant_is_incoming: Some(false),
        ..LegParty::default()
    }
}

fn entity(kind: &str, dn: &str) -> LegParty {
    LegParty {
        entity_type: s(kind),
        dn_type: s(kind),
        dn_number: s(dn),
        participant_phone_number: s(dn),
        ..LegParty::default()
    }
}

/// The inbound routing of the DID: its DN is the DID itself (a phone number).
fn inbound_routing() -> LegParty {
    entity("inbound_routing", DID)
}

struct L {
    id: &'static str,
    from: LegParty,
    to: LegParty,
    start: i64,
    answered: Option<i64>,
    end: Option<i64>,
    method: &'static str,
    reason: &'static str,
    base: Option<&'static str>,
    next: Option<&'static str>,
}

fn l(
    id: &'static str,
    from: LegParty,
    to: LegParty,
    start: i64,
    answered: Option<i64>,
    end: i64,
) -> L {
    L {
        id,
        from,
        to,
        start,
        answered,
        end: Some(end),
        method: "route_to",
        reason: "src_participant_terminated",
        base: None,
        next: None,
    }
}

impl L {
    fn init(mut self) -> Self {
        self.method = "call_init";
        self
    }
    fn continued_in(mut self, next: &'static str) -> Self {
        self.next = Some(next);
        self.reason = "continued_in";
        self
    }
    fn redirected(mut self, next: &'static str) -> Self {
        self.next = Some(next);
        self.reason = "redirected";
        self
    }
    fn base(mut self, base: &'static str, method: &'static str) -> Self {
        self.base = Some(base);
        self.method = method;
        self
    }
    fn polling(mut self) -> Self {
        self.method = "route_to";
        if self.answered.is_none() {
            self.reason = "cancelled";
        }
        self
    }
    fn open(mut self) -> Self {
        self.end = None;
        self
    }
}

fn call(main: &str, legs: Vec<L>) -> CallLegs {
    let legs = legs
        .into_iter()
        .map(|x| {
            let polling = x.method == "route_to" && x.reason == "cancelled";
            CdrLeg {
                cdr_id: x.id.to_owned(),
                call_history_id: main.to_owned(),
                main_call_history_id: main.to_owned(),
                source: x.from,
                destination: x.to,
                creation_method: s(x.method),
                creation_forward_reason: s(if polling { "polling" } else { "none" }),
                termination_reason: s(x.reason),
                started_at: Some(at(x.start)),
                answered_at: x.answered.map(at),
                ended_at: x.end.map(at),
                base_cdr_id: x.base.map(str::to_owned),
                continued_in_cdr_id: x.next.map(str::to_owned),
                ..CdrLeg::default()
            }
        })
        // Legs arrive in any order.
        .rev()
        .collect::<Vec<_>>();
    let mut calls = group_legs(legs);
    assert_eq!(calls.len(), 1);
    calls.remove(0)
}

fn mapper() -> CallMapper {
    CallMapper::default().with_extensions(
        (101..=111)
            .map(|e| User::new(e.to_string(), format!("u{e}@example.com")))
            .collect(),
    )
}

/// The mapper with the missed-call rules off (the owner rules alone).
fn without_missed(mut m: CallMapper) -> CallMapper {
    m.missed_calls_mut().enabled = false;
    m
}

fn unrouted(dn: &str) -> SkipReason {
    SkipReason::MissedUnrouted { dn: dn.into() }
}

fn delivered(m: &CallMapper, c: &CallLegs) -> CallRequest {
    match m.map_legs(c).unwrap() {
        Mapped::Call(call) => call,
        other => panic!("{other:?}"),
    }
}

fn skipped(m: &CallMapper, c: &CallLegs) -> SkipReason {
    match m.map_legs(c).unwrap() {
        Mapped::Skipped(r) => r,
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------------------

/// DID → ring group 700 (101 and 102 ring); 101 answers at +5, talks until +60 and
/// blind-transfers to 104, who answers at +65 and talks until +125.
fn ring_group_blind_transfer() -> CallLegs {
    call(
        "rg-blind",
        vec![
            l("a", caller(Some(CALLER)), inbound_routing(), 0, None, 1)
                .init()
                .continued_in("b"),
            l(
                "b",
                caller(Some(CALLER)),
                entity("ring_group_ring_all", "700"),
                1,
                None,
                5,
            )
            .base("a", "route_to")
            .continued_in("c"),
            l("c", caller(Some(CALLER)), ext("101"), 1, Some(5), 60)
                .base("b", "route_to")
                .continued_in("e"),
            l("d", caller(Some(CALLER)), ext("102"), 1, None, 5).polling(),
            l("e", caller(Some(CALLER)), ext("104"), 60, Some(65), 125).base("c", "transfer"),
        ],
    )
}

#[test]
fn blind_transfer_belongs_to_the_last_agent_with_both_agents_talk() {
    let c = ring_group_blind_transfer();
    let sum = c.summary();
    assert_eq!(sum.direction, Direction::Inbound);
    assert_eq!(sum.owner.as_deref(), Some("104"));
    assert_eq!(sum.talk, Some(Duration::from_secs(55 + 60)));
    let call = delivered(&mapper(), &c);
    assert_eq!(call.call_owner_extension, "104");
    assert_eq!(
        call.call_duration, 115,
        "A's talk plus B's talk, not B's ringing"
    );
    assert_eq!(call.phone_number, CALLER);
    assert_eq!(call.call_direction, CallDirection::Inbound);
}

#[test]
fn the_chain_decides_when_answers_tie_not_the_termination_text() {
    // 104's leg carries the same answer time as 101's (as a PBX may copy it on a transfer);
    // the chain (base_cdr_id) says 104 came later. `redirected` instead of `continued_in`
    // changes nothing.
    let c = call(
        "tie",
        vec![
            l("a", caller(Some(CALLER)), ext("101"), 0, Some(5), 60)
                .init()
                .redirected("b"),
            l("b", caller(Some(CALLER)), ext("104"), 0, Some(5), 120).base("a", "transfer"),
        ],
    );
    assert_eq!(c.summary().owner.as_deref(), Some("104"));
    // Overlapping spans count once.
    assert_eq!(c.summary().talk, Some(Duration::from_secs(115)));
}

#[test]
fn attended_transfer_belongs_to_the_agent_who_took_over() {
    // 101 answers at +3; at +40 puts the caller on hold and calls 104 (answered +45); at +70
    // the transfer completes and the caller talks with 104 until +200.
    let c = call(
        "attended",
        vec![
            l("a", caller(Some(CALLER)), ext("101"), 0, Some(3), 70)
                .init()
                .continued_in("c"),
            l("b", ext("101"), ext("104"), 40, Some(45), 70).init(),
            l("c", caller(Some(CALLER)), ext("104"), 70, Some(70), 200).base("a", "transfer"),
        ],
    );
    let sum = c.summary();
    assert_eq!(
        sum.direction,
        Direction::Inbound,
        "the caller's leg starts first"
    );
    assert_eq!(sum.owner.as_deref(), Some("104"));
    // 3..200: the consultation overlaps the held call and counts once.
    assert_eq!(sum.talk, Some(Duration::from_secs(197)));
    let call = delivered(&mapper(), &c);
    assert_eq!(call.phone_number, CALLER);
    assert_eq!(call.call_duration, 197);
}

/// DID → queue 800, which answers for hold music and polls 103 and 104; nobody answers and
/// the caller gives up at +95.
fn abandoned_queue_call() -> CallLegs {
    call(
        "abandoned",
        vec![
            l("a", caller(Some(CALLER)), inbound_routing(), 0, None, 1)
                .init()
                .continued_in("b"),
            l(
                "b",
                caller(Some(CALLER)),
                entity("queue", "800"),
                1,
                Some(2),
                95,
            )
            .base("a", "route_to"),
            l("c", entity("queue", "800"), ext("103"), 2, None, 30).polling(),
            l("d", entity("queue", "800"), ext("104"), 30, None, 60).polling(),
            l("e", entity("queue", "800"), ext("103"), 60, None, 95).polling(),
        ],
    )
}

#[test]
fn an_abandoned_queue_call_has_no_owner_never_the_did() {
    let c = abandoned_queue_call();
    let sum = c.summary();
    assert_eq!(sum.direction, Direction::Inbound);
    assert_eq!(sum.owner, None);
    assert_eq!(
        sum.talk, None,
        "the queue answering for music is not a person"
    );
    assert_eq!(skipped(&without_missed(mapper()), &c), SkipReason::NoOwner);
    // A missed call: no route for the queue, so skipped naming it (never the DID).
    assert_eq!(skipped(&mapper(), &c), unrouted("800"));
    // Even with a default email: there is no owner to give it to.
    let mut m = mapper();
    m.set_extensions(
        ExtensionMap::new().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
    );
    assert_eq!(skipped(&m, &c), unrouted("800"));
    // The assembled record never names the DID as an extension.
    let cdr = pbx_core::cdr::assemble_call(&c).unwrap();
    assert!(
        !cdr.chain.contains(&PartyNumber::Extension(DID.into())),
        "{:?}",
        cdr.chain
    );
    assert_eq!(m.map(&cdr).unwrap(), Mapped::Skipped(unrouted("800")));
}

/// DID → 103 rings 20 s unanswered → 103's voicemail records a message until +50.
fn voicemail_of_an_extension(vm_dn_type: &str) -> CallLegs {
    let mut vm = entity("voicemail", "103");
    vm.dn_type = s(vm_dn_type);
    call(
        "vm",
        vec![
            l("a", caller(Some(CALLER)), inbound_routing(), 0, None, 0)
                .init()
                .continued_in("b"),
            l("b", caller(Some(CALLER)), ext("103"), 0, None, 20)
                .base("a", "route_to")
                .continued_in("c"),
            l("c", caller(Some(CALLER)), vm, 20, Some(21), 50).base("b", "divert"),
        ],
    )
}

#[test]
fn an_unanswered_call_to_an_extensions_voicemail_belongs_to_that_extension_with_no_talk() {
    for dn_type in ["extension", "voicemail"] {
        let c = voicemail_of_an_extension(dn_type);
        let sum = c.summary();
        assert_eq!(sum.owner.as_deref(), Some("103"), "{dn_type}");
        assert!(sum.owner_by_voicemail);
        assert_eq!(sum.talk, None);
        let call = delivered(&mapper(), &c);
        assert_eq!(call.call_owner_extension, "103");
        assert_eq!(call.call_duration, 0, "a missed call with a message");
        assert_eq!(call.call_direction, CallDirection::Inbound);
    }
}

#[test]
fn the_general_voicemail_has_no_owner() {
    // After hours: IVR 900 → the general voicemail 999, no extension involved.
    let c = call(
        "general-vm",
        vec![
            l(
                "a",
                caller(Some(CALLER)),
                entity("ivr", "900"),
                0,
                Some(1),
                12,
            )
            .init()
            .continued_in("b"),
            l(
                "b",
                caller(Some(CALLER)),
                entity("voicemail", "999"),
                12,
                Some(13),
                40,
            )
            .base("a", "divert"),
        ],
    );
    assert_eq!(c.summary().owner, None);
    assert_eq!(skipped(&without_missed(mapper()), &c), SkipReason::NoOwner);
    // A missed call: the general voicemail (reached last) is the DN a route needs.
    assert_eq!(skipped(&mapper(), &c), unrouted("999"));
}

#[test]
fn a_missed_call_not_ending_in_voicemail_belongs_to_the_extension_it_rang() {
    let c = call(
        "missed",
        vec![l("a", caller(Some(CALLER)), ext("105"), 0, None, 28).init()],
    );
    assert_eq!(c.summary().owner, None);
    assert_eq!(skipped(&without_missed(mapper()), &c), SkipReason::NoOwner);
    // The missed-call rules: it rang exactly one extension, whose person calls back.
    let call = delivered(&mapper(), &c);
    assert_eq!(
        (call.call_owner_extension.as_str(), call.call_duration),
        ("105", 0)
    );
}

/// DID → 103 rings 20 s unanswered → 103's own forwarding rule (`divert`, no answer) sends
/// the call through an outbound rule to 103's mobile, which answers at +28 and talks until
/// +153. `linked`: the divert names 103's leg as its base (else only times relate them).
fn forwarded_to_a_mobile(linked: bool, mobile_answers: bool) -> CallLegs {
    let mut rule = entity("outbound_rule", "rule-mobile");
    rule.participant_phone_number = s("+41791234567");
    let divert = l("c", caller(Some(CALLER)), rule, 20, None, 21).continued_in("d");
    let divert = if linked {
        divert.base("b", "divert")
    } else {
        L {
            method: "divert",
            ..divert
        }
    };
    call(
        "mobile",
        vec![
            l("a", caller(Some(CALLER)), inbound_routing(), 0, None, 0)
                .init()
                .continued_in("b"),
            l("b", caller(Some(CALLER)), ext("103"), 0, None, 20)
                .base("a", "route_to")
                .redirected("c"),
            divert,
            l(
                "d",
                caller(Some(CALLER)),
                trunk_out("+41791234567"),
                21,
                mobile_answers.then_some(28),
                153,
            )
            .base("c", "route_to"),
        ],
    )
}

#[test]
fn a_call_forwarded_to_a_mobile_by_an_extensions_rule_is_that_extensions_call() {
    for linked in [true, false] {
        let c = forwarded_to_a_mobile(linked, true);
        let sum = c.summary();
        assert_eq!(sum.direction, Direction::Inbound);
        assert_eq!(sum.owner.as_deref(), Some("103"), "linked {linked}");
        assert!(sum.owner_by_forward && !sum.owner_by_voicemail);
        assert_eq!(sum.talk, Some(Duration::from_secs(125)));
        assert_eq!(sum.answered_at, Some(at(28)));
        let call = delivered(&mapper(), &c);
        assert_eq!(call.call_owner_extension, "103");
        assert_eq!(call.call_duration, 125, "the mobile leg's talk");
        assert_eq!(call.call_direction, CallDirection::Inbound);
        assert_eq!(call.phone_number, CALLER);
        // The assembled record reads the same way (the text rules on it).
        let cdr = pbx_core::cdr::assemble_call(&c).unwrap();
        assert_eq!(cdr.final_type, Some(PartyType::ExternalLine));
        assert_eq!(
            cdr.final_number,
            Some(PartyNumber::Number("+41791234567".into()))
        );
        assert_eq!(cdr.talk_seconds(), 125);
        let text = mapper().map(&cdr).unwrap();
        assert_eq!(text, Mapped::Call(call));
    }
}

#[test]
fn a_forward_the_mobile_does_not_answer_is_missed_at_the_extension() {
    let c = forwarded_to_a_mobile(true, false);
    assert_eq!(c.summary().owner, None);
    assert_eq!(skipped(&without_missed(mapper()), &c), SkipReason::NoOwner);
    // Nobody answered, and 103 was the one extension rung: 103 calls back.
    let call = delivered(&mapper(), &c);
    assert_eq!(
        (call.call_owner_extension.as_str(), call.call_duration),
        ("103", 0)
    );
}

#[test]
fn a_queue_forwarding_to_an_outside_number_makes_no_one_the_owner() {
    // Queue 800's no-answer destination is an outside number: no extension's rule forwarded
    // it (the polled agent's leg was cancelled, not redirected).
    let mut rule = entity("outbound_rule", "rule-out");
    rule.participant_phone_number = s("+41791234567");
    let c = call(
        "queue-out",
        vec![
            l(
                "a",
                caller(Some(CALLER)),
                entity("queue", "800"),
                0,
                Some(1),
                30,
            )
            .init()
            .redirected("c"),
            l("p", caller(Some(CALLER)), ext("104"), 2, None, 20).polling(),
            l("c", caller(Some(CALLER)), rule, 30, None, 31)
                .base("a", "divert")
                .continued_in("d"),
            l(
                "d",
                caller(Some(CALLER)),
                trunk_out("+41791234567"),
                31,
                Some(35),
                90,
            )
            .base("c", "route_to"),
        ],
    );
    assert_eq!(c.summary().owner, None);
    assert_eq!(skipped(&mapper(), &c), SkipReason::NoOwner);
}

#[test]
fn the_leg_a_divert_modifies_decides_whose_forward_it_is() {
    // 103 forwards to queue 800 (103's rule); the queue's own no-answer rule sends the call
    // to an outside number. The divert to the outside modifies the queue's leg: no one's
    // mobile, although 103's leg was redirected earlier.
    let mut rule = entity("outbound_rule", "rule-out");
    rule.participant_phone_number = s("+41791234567");
    let c = call(
        "ext-queue-out",
        vec![
            l("a", caller(Some(CALLER)), ext("103"), 0, None, 20)
                .init()
                .redirected("b"),
            l(
                "b",
                caller(Some(CALLER)),
                entity("queue", "800"),
                20,
                Some(21),
                60,
            )
            .base("a", "divert")
            .redirected("c"),
            l("c", caller(Some(CALLER)), rule, 60, None, 61)
                .base("b", "divert")
                .continued_in("d"),
            l(
                "d",
                caller(Some(CALLER)),
                trunk_out("+41791234567"),
                61,
                Some(65),
                90,
            )
            .base("c", "route_to"),
        ],
    );
    assert_eq!(c.summary().owner, None);
    assert_eq!(skipped(&mapper(), &c), SkipReason::NoOwner);
}

#[test]
fn outbound_through_a_rewriting_rule_logs_the_number_on_the_trunk() {
    // 108 dials 011 44 20 7946 0018; the outbound rule sends +44 20 7946 0018.
    let mut rule = entity("outbound_rule", "OR1");
    rule.participant_phone_number = s("011442079460018");
    let c = call(
        "out-intl",
        vec![
            l("a", ext("108"), rule, 0, None, 1)
                .init()
                .continued_in("b"),
            l(
                "b",
                ext("108"),
                trunk_out("+442079460018"),
                1,
                Some(18),
                361,
            )
            .base("a", "route_to"),
        ],
    );
    let sum = c.summary();
    assert_eq!(sum.direction, Direction::Outbound);
    assert_eq!(sum.owner.as_deref(), Some("108"));
    assert_eq!(
        sum.counterpart,
        Some(PartyNumber::Number("+442079460018".into()))
    );
    let call = delivered(&mapper(), &c);
    assert_eq!(call.phone_number, "+442079460018", "not the dialled 011…");
    assert_eq!(call.call_duration, 343);
    assert_eq!(call.call_owner_extension, "108");
}

#[test]
fn outbound_without_a_trunk_leg_logs_what_was_dialled() {
    // No route: the outbound rule never reached a trunk.
    let mut rule = entity("outbound_rule", "OR1");
    rule.participant_phone_number = s("+19075550175");
    let c = call(
        "no-route",
        vec![l("a", ext("112"), rule, 0, None, 1).init()],
    );
    let sum = c.summary();
    assert_eq!(sum.direction, Direction::Outbound);
    assert_eq!(
        sum.counterpart,
        Some(PartyNumber::Number("+19075550175".into()))
    );
    assert_eq!(sum.talk, None);
}

#[test]
fn an_anonymous_caller_is_logged_as_anonymous() {
    for number in [None, Some("anonymous"), Some("")] {
        let c = call(
            "anon",
            vec![l("a", caller(number), ext("105"), 0, Some(4), 64).init()],
        );
        let call = delivered(&mapper(), &c);
        assert_eq!(call.phone_number, "anonymous", "{number:?}");
        assert_eq!(call.call_owner_extension, "105");
        assert_eq!(call.call_duration, 60);
    }
}

#[test]
fn ivr_then_queue_belongs_to_the_agent_who_answered() {
    let c = call(
        "ivr-queue",
        vec![
            l(
                "a",
                caller(Some(CALLER)),
                entity("ivr", "900"),
                0,
                Some(1),
                15,
            )
            .init()
            .continued_in("b"),
            l(
                "b",
                caller(Some(CALLER)),
                entity("queue", "800"),
                15,
                Some(15),
                100,
            )
            .base("a", "route_to"),
            l("c", entity("queue", "800"), ext("103"), 16, None, 40).polling(),
            l("d", entity("queue", "800"), ext("106"), 40, Some(44), 100).polling(),
        ],
    );
    let call = delivered(&mapper(), &c);
    assert_eq!(call.call_owner_extension, "106");
    assert_eq!(call.call_duration, 56, "from 106's answer, not the IVR's");
}

#[test]
fn ring_group_answered_by_a_member() {
    let c = call(
        "rg",
        vec![
            l(
                "a",
                caller(Some("9075550175")),
                entity("ring_group_ring_all", "700"),
                0,
                None,
                8,
            )
            .init()
            .continued_in("c"),
            l("b", caller(Some("9075550175")), ext("101"), 0, None, 8).polling(),
            l("c", caller(Some("9075550175")), ext("102"), 0, Some(8), 229),
        ],
    );
    let call = delivered(&mapper(), &c);
    assert_eq!(call.call_owner_extension, "102");
    assert_eq!(call.call_duration, 221);
    assert_eq!(call.phone_number, "+19075550175");
}

#[test]
fn international_inbound_keeps_the_callers_country() {
    let c = call(
        "intl",
        vec![
            l(
                "a",
                caller(Some("+46703014082")),
                ext("110"),
                0,
                Some(9),
                711,
            )
            .init(),
        ],
    );
    let call = delivered(&mapper(), &c);
    assert_eq!(call.phone_number, "+46703014082");
    assert_eq!(call.call_duration, 702);
}

#[test]
fn internal_calls_belong_to_the_caller() {
    let c = call(
        "internal",
        vec![l("a", ext("103"), ext("106"), 0, Some(4), 67).init()],
    );
    assert_eq!(c.summary().direction, Direction::Internal);
    assert_eq!(skipped(&mapper(), &c), SkipReason::Internal);
    let mut m = mapper();
    m.options_mut().internal_calls = InternalCalls::AsOutbound;
    let call = delivered(&m, &c);
    assert_eq!(call.call_owner_extension, "103");
    assert_eq!(call.phone_number, "106");
    assert_eq!(call.call_duration, 63);
}

#[test]
fn a_call_with_an_open_leg_is_not_complete() {
    let c = call(
        "live",
        vec![
            l(
                "a",
                caller(Some(CALLER)),
                entity("ivr", "900"),
                0,
                Some(1),
                30,
            )
            .init()
            .continued_in("b"),
            l("b", caller(Some(CALLER)), ext("104"), 30, Some(33), 0).open(),
        ],
    );
    assert!(!c.is_complete(at(86_400), Duration::from_secs(60)));
    // Were it mapped anyway, an open leg adds no talk time.
    assert_eq!(c.summary().talk, Some(Duration::ZERO));
}

#[test]
fn an_owner_outside_the_extension_rule_is_never_delivered() {
    // A v20 site with 6-digit DNs that did not configure its extension rule: the owner does
    // not pass the rule, so the call is skipped rather than given to a number.
    let c = call(
        "six",
        vec![l("a", caller(Some(CALLER)), ext("123456"), 0, Some(2), 20).init()],
    );
    let mut m = mapper();
    m.set_extensions(
        ExtensionMap::new().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
    );
    assert_eq!(skipped(&m, &c), SkipReason::NoOwner);
    m.direction_mut().extension_ranges = vec![100_000..=199_999];
    assert_eq!(delivered(&m, &c).call_owner_extension, "123456");
    // A configured service DN is never an owner either.
    let q = call(
        "svc",
        vec![l("a", caller(Some(CALLER)), ext("800"), 0, Some(2), 20).init()],
    );
    let mut m = mapper();
    m.direction_mut().service_dns = vec!["800".into()];
    assert_eq!(skipped(&m, &q), SkipReason::NoOwner);
}

#[test]
fn a_real_extension_without_a_user_goes_to_the_default_email() {
    let c = call(
        "unmapped",
        vec![l("a", caller(Some(CALLER)), ext("112"), 0, Some(2), 20).init()],
    );
    assert_eq!(
        skipped(&mapper(), &c),
        SkipReason::NoOwnerEmail {
            extension: "112".into()
        }
    );
    let mut m = mapper();
    let extensions = m
        .extensions()
        .clone()
        .with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into()));
    m.set_extensions(extensions);
    let call = delivered(&m, &c);
    assert_eq!(call.call_owner_extension, "112");
    assert_eq!(call.call_owner_email, "pbx@example.com");
}

// ---------------------------------------------------------------------------------------------
// The same meaning for CDR text lines (27-field v20 layout)
// ---------------------------------------------------------------------------------------------

fn text(line: &str) -> Cdr {
    CdrParser::new(FieldTemplate::v20_27())
        .parse_line(1, line)
        .unwrap()
}

#[test]
fn text_transfer_belongs_to_the_final_dn() {
    // 102 answered, then transferred to 110 (ReplacedDst): final-dn is the last agent.
    let cdr = text(
        "Call 50001,00000001_1,00:09:00,2026/11/02 23:05:18,2026/11/02 23:05:25,2026/11/02 23:14:25,TerminatedBySrc,9075552468,Ext.102,10000,102,102,ReplacedDst,Ext.110,110,,,,,Chain: 9075552468;Ext.102;Ext.110;,Line,Extension,Extension,Caller,Bob,Ivan,,",
    );
    let Mapped::Call(call) = mapper().map(&cdr).unwrap() else {
        panic!()
    };
    assert_eq!(call.call_owner_extension, "110");
}

#[test]
fn text_voicemail_belongs_to_the_mailboxs_extension() {
    // Old style: final-dn is the voicemail DN 999; the extension rung (111) owns it.
    let cdr = text(
        "Call 50002,00000001_2,00:00:38,2026/11/03 01:35:02,2026/11/03 01:35:22,2026/11/03 01:36:00,TerminatedBySrc,9072221100,Ext.111,10000,111,111,,Ext.999,999,,,,,Chain: 9072221100;Ext.111;Ext.999;,Line,Extension,VMail,Caller,Julia,Voicemail,,",
    );
    assert_eq!(mapper().classify(&cdr).owner.as_deref(), Some("111"));
    // v20 style: final-dn is the mailbox's extension itself.
    let cdr = text(
        "Call 50003,00000001_3,00:00:41,2026/11/12 18:15:10,2026/11/12 18:15:30,2026/11/12 18:16:11,src_participant_terminated,9075554321,Ext.111,10000,111,111,,Ext.111,111,,,,,Chain: 9075554321;Ext.111;,external_line,extension,voicemail,Caller,Julia,Voicemail,,",
    );
    assert_eq!(mapper().classify(&cdr).owner.as_deref(), Some("111"));
    // The general voicemail behind the IVR: no owner.
    let cdr = text(
        "Call 50004,00000001_4,00:00:52,2026/11/03 02:40:12,2026/11/03 02:40:23,2026/11/03 02:41:15,TerminatedBySrc,9075550133,Ext.900,10000,900,900,,Ext.999,999,,,,,Chain: 9075550133;Ext.900;Ext.999;,Line,Ivr,VMail,Caller,Main Menu,Voicemail,,",
    );
    assert_eq!(mapper().classify(&cdr).owner, None);
}

#[test]
fn text_abandoned_queue_call_has_no_owner_even_when_the_did_is_in_the_record() {
    let cdr = text(
        "Call 50005,00000001_5,,2026/11/03 00:20:45,,2026/11/03 00:22:19,TerminatedBySrc,9075557810,+19075550100,10000,+19075550100,+19075550100,,Ext.800,800,,,,,Chain: 9075557810;Ext.+19075550100;Ext.800;,Line,Queue,Queue,Caller,Support Queue,Support Queue,Ext.103;Ext.104,",
    );
    assert_eq!(mapper().classify(&cdr).owner, None);
    assert_eq!(
        without_missed(mapper()).map(&cdr).unwrap(),
        Mapped::Skipped(SkipReason::NoOwner)
    );
    // A missed call: the queue reached last is the DN a route needs, never the DID.
    assert_eq!(
        mapper().map(&cdr).unwrap(),
        Mapped::Skipped(unrouted("800"))
    );
}

#[test]
fn text_outbound_through_a_rewriting_rule_logs_the_final_number() {
    let cdr = text(
        "Call 50006,00000001_6,00:05:43,2026/11/03 19:02:30,2026/11/03 19:02:48,2026/11/03 19:08:31,TerminatedBySrc,Ext.108,011442079460018,108,10000,011442079460018,,+442079460018,10000,default,1,0.95,default,Chain: Ext.108;+442079460018;,extension,outbound_rule,external_line,José,+442079460018,+442079460018,,",
    );
    let Mapped::Call(call) = mapper().map(&cdr).unwrap() else {
        panic!()
    };
    assert_eq!(call.phone_number, "+442079460018");
    assert_eq!(call.call_owner_extension, "108");
}

#[test]
fn text_anonymous_caller() {
    let cdr = text(
        "Call 50007,00000001_7,00:01:00,2026/11/03 07:22:09,2026/11/03 07:22:10,2026/11/03 07:23:10,TerminatedBySrc,anonymous,Ext.105,10000,105,105,,Ext.105,105,,,,,Chain: anonymous;Ext.105;,Line,Extension,Extension,anonymous,Erin,Erin,,",
    );
    let Mapped::Call(call) = mapper().map(&cdr).unwrap() else {
        panic!()
    };
    assert_eq!(call.phone_number, "anonymous");
    assert_eq!(call.call_owner_extension, "105");
}

// ---------------------------------------------------------------------------------------------
// The invariant, for arbitrary records
// ---------------------------------------------------------------------------------------------

/// DNs and numbers of every kind a record may hold.
fn dn() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,7}",
        Just(DID.to_owned()),
        Just("10000".to_owned()),
        Just("800".to_owned()),
        Just("9075550142".to_owned()),
        Just("anonymous".to_owned()),
        Just("Ext.101".to_owned()),
        "\\+[0-9]{6,14}",
        "[A-Za-z ]{0,6}",
    ]
}

fn number() -> impl Strategy<Value = Option<PartyNumber>> {
    proptest::option::of(prop_oneof![
        dn().prop_map(PartyNumber::Extension),
        dn().prop_map(PartyNumber::Number),
        Just(PartyNumber::Special("EndCall".into())),
    ])
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
        PartyType::Other("inbound_routing".into()),
    ]))
}

fn time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    proptest::option::of((0i64..600).prop_map(at))
}

fn arb_cdr() -> impl Strategy<Value = Cdr> {
    (
        (number(), number(), number(), number()),
        (
            proptest::option::of(dn()),
            proptest::option::of(dn()),
            proptest::option::of(dn()),
        ),
        (kind(), kind(), kind()),
        proptest::collection::vec(number().prop_filter_map("some", |n| n), 0..5),
        (
            time(),
            time(),
            proptest::option::of((0u64..9000).prop_map(Duration::from_secs)),
        ),
    )
        .prop_map(|(nums, dns, kinds, chain, times)| Cdr {
            history_id: Some("1".into()),
            time_start: Some(at(0)),
            from_no: nums.0,
            to_no: nums.1,
            dial_no: nums.2,
            final_number: nums.3,
            from_dn: dns.0,
            to_dn: dns.1,
            final_dn: dns.2,
            from_type: kinds.0,
            to_type: kinds.1,
            final_type: kinds.2,
            chain,
            time_answered: times.0,
            time_end: times.1,
            duration: times.2,
            ..Cdr::default()
        })
}

fn party() -> impl Strategy<Value = LegParty> {
    (
        proptest::option::of(proptest::sample::select(vec![
            "extension",
            "external_line",
            "queue",
            "ring_group_ring_all",
            "ivr",
            "voicemail",
            "inbound_routing",
            "outbound_rule",
        ])),
        proptest::option::of(proptest::sample::select(vec![
            "extension",
            "provider",
            "queue",
        ])),
        proptest::option::of(dn()),
        proptest::option::of(dn()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(entity, dn_type, dn, phone, incoming)| LegParty {
            entity_type: entity.map(str::to_owned),
            dn_type: dn_type.map(str::to_owned),
            dn_number: dn,
            participant_phone_number: phone,
            participant_is_incoming: incoming,
            ..LegParty::default()
        })
}

fn arb_legs() -> impl Strategy<Value = CallLegs> {
    proptest::collection::vec(
        (
            party(),
            party(),
            0i64..300,
            proptest::option::of(0i64..300),
            proptest::option::of(0i64..300),
            proptest::option::of(proptest::sample::select(vec![
                "call_init",
                "route_to",
                "transfer",
            ])),
            proptest::option::of(0usize..6),
            proptest::option::of(0usize..6),
        ),
        1..6,
    )
    .prop_map(|legs| {
        let legs = legs
            .into_iter()
            .enumerate()
            .map(
                |(i, (src, dst, start, answered, end, method, base, next))| CdrLeg {
                    cdr_id: i.to_string(),
                    main_call_history_id: "m".into(),
                    source: src,
                    destination: dst,
                    creation_method: method.map(str::to_owned),
                    started_at: Some(at(start)),
                    answered_at: answered.map(at),
                    ended_at: end.map(at),
                    base_cdr_id: base.map(|b| b.to_string()),
                    continued_in_cdr_id: next.map(|n| n.to_string()),
                    ..CdrLeg::default()
                },
            )
            .collect::<Vec<_>>();
        group_legs(legs).remove(0)
    })
}

fn policies() -> impl Strategy<Value = DirectionPolicy> {
    (any::<bool>(), any::<bool>()).prop_map(|(ranges, services)| {
        let mut p = DirectionPolicy::default();
        if ranges {
            p.extension_ranges = vec![100..=199];
        }
        if services {
            p.service_dns = vec!["800".into(), "700".into()];
        }
        p.trunk_dns = vec!["10000".into()];
        p
    })
}

fn any_mapper(policy: DirectionPolicy, fallback: bool, internal: bool) -> CallMapper {
    let mut m = mapper();
    *m.direction_mut() = policy;
    if fallback {
        let extensions = m
            .extensions()
            .clone()
            .with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into()));
        m.set_extensions(extensions);
    }
    if internal {
        m.options_mut().internal_calls = InternalCalls::AsOutbound;
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_owner_of_a_text_record_is_always_an_extension(
        cdr in arb_cdr(), policy in policies(), fallback in any::<bool>(), internal in any::<bool>(),
    ) {
        let m = any_mapper(policy, fallback, internal);
        if let Some(owner) = m.classify(&cdr).owner {
            prop_assert!(m.direction().is_owner_extension(&owner), "classified owner {owner:?}");
        }
        if let Ok(Mapped::Call(call)) = m.map(&cdr) {
            prop_assert!(m.direction().is_owner_extension(&call.call_owner_extension),
                "delivered owner {:?}", call.call_owner_extension);
            prop_assert!(!call.call_owner_extension.starts_with('+'));
            prop_assert!(!m.direction().is_trunk(&call.call_owner_extension));
        }
    }

    #[test]
    fn the_owner_of_database_legs_is_always_an_extension(
        legs in arb_legs(), policy in policies(), fallback in any::<bool>(), internal in any::<bool>(),
    ) {
        let m = any_mapper(policy, fallback, internal);
        let _ = legs.summary();
        if let Some(owner) = m.classify_legs(&legs).owner {
            prop_assert!(m.direction().is_owner_extension(&owner), "classified owner {owner:?}");
        }
        if let Ok(Mapped::Call(call)) = m.map_legs(&legs) {
            prop_assert!(m.direction().is_owner_extension(&call.call_owner_extension),
                "delivered owner {:?}", call.call_owner_extension);
            // Talk time never exceeds the call's span.
            prop_assert!(call.call_duration <= 300);
        }
    }
}
