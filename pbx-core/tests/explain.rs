//! `explain` against `map`: on the bundled sample (with the embedded default configuration
//! the README's first command runs), the v16 file, the shared call vectors and database-leg
//! calls, the explanation's outcome is exactly what `map` gives, and its steps name the
//! rules that decided.

use pbx_core::call::{CallMapper, Mapped};
use pbx_core::cdr::{CdrLeg, LegParty, group_legs};
use pbx_core::config::Config;
use pbx_core::delivery::{Disposition, Pipeline};
use pbx_core::explain::{Explanation, Outcome};
use pbx_core::extensions::{EmailSource, ExtensionMap, OwnerFallback, User};
use pbx_core::{Checkpoint, RawRecord, SourceRecord};

const SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-sample.log"
));
const V16: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-v16-20field.log"
));
const EMBEDDED_DEFAULT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/config/embedded-default.yml"
));

fn embedded_pipeline() -> Pipeline {
    let config = Config::from_yaml(EMBEDDED_DEFAULT, &|_| None).expect("the embedded default");
    Pipeline {
        parser: config.cdr_parser(),
        mapper: config.call_mapper(),
    }
}

fn line(number: u64, text: &str) -> SourceRecord {
    SourceRecord {
        checkpoint: Checkpoint::new(number.to_string()),
        record: Ok(RawRecord::Line {
            number,
            text: text.as_bytes().to_vec(),
        }),
    }
}

/// The explanation's outcome is the pipeline's disposition, record by record.
fn assert_agrees(p: &Pipeline, record: &SourceRecord) -> Explanation {
    let e = p.explain(record);
    let prepared = p.prepare(record);
    match (&e.outcome, &prepared.disposition) {
        (Outcome::Call(a), Disposition::Deliver(b)) => assert_eq!(a, b),
        (Outcome::Skipped(a), Disposition::Skip(b)) => assert_eq!(a, b),
        (Outcome::Refused(a), Disposition::Quarantine { reason }) => {
            assert_eq!(&a.to_string(), reason);
        }
        (got, want) => panic!("explain says {got:?}, the pipeline {want:?}"),
    }
    e
}

#[test]
fn every_sample_line_is_explained_as_it_is_mapped() {
    let p = embedded_pipeline();
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for (i, text) in SAMPLE.lines().enumerate() {
        let n = i as u64 + 1;
        let e = assert_agrees(&p, &line(n, text));
        assert_eq!(e.location.as_deref(), Some(format!("line {n}").as_str()));
        *kinds.entry(e.outcome.kind()).or_default() += 1;
        // The steps agree with the request.
        if let Outcome::Call(call) = &e.outcome {
            assert_eq!(
                e.owner.extension.as_deref(),
                Some(call.call_owner_extension.as_str())
            );
            assert!(
                e.owner.rule.is_some(),
                "line {n}: an owner without its rule"
            );
            assert_eq!(e.direction.sent_as, Some(call.call_direction));
            let email = e.email.as_ref().expect("a call has its email's source");
            assert_eq!(email.email, call.call_owner_email);
            assert_eq!(email.source, "map");
            assert_eq!(e.talk_time.seconds, call.call_duration);
            assert_eq!(e.pbx_call_id.as_deref(), Some(call.pbx_call_id.as_str()));
            if let Some(other) = &e.other_party {
                assert_eq!(other.normalized, call.phone_number);
            }
        }
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["outcome"]["kind"], e.outcome.kind());
        assert!(!e.to_string().is_empty());
    }
    assert!(kinds.get("call").copied().unwrap_or(0) >= 30, "{kinds:?}");
    assert!(kinds.get("skipped").copied().unwrap_or(0) >= 1, "{kinds:?}");
}

#[test]
fn every_v16_line_is_explained_as_it_is_mapped() {
    let mut p = embedded_pipeline();
    p.parser = pbx_core::cdr::CdrParser::new(pbx_core::cdr::FieldTemplate::v16_20());
    for (i, text) in V16.lines().enumerate() {
        assert_agrees(&p, &line(i as u64 + 1, text));
    }
}

#[test]
fn every_shared_call_vector_is_explained_as_it_is_mapped() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/core.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let base = v["config_base"].as_str().unwrap();
    let cases = v["calls"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let config = format!("{base}\n{}", case["config"].as_str().unwrap_or(""));
        let Ok(config) = Config::from_yaml(&config, &|_| None) else {
            panic!("{}: config", case["name"]);
        };
        let mut p = Pipeline {
            parser: config.cdr_parser(),
            mapper: config.call_mapper(),
        };
        if let Some(t) = case["template"].as_str() {
            p.parser = pbx_core::cdr::CdrParser::new(t.parse().unwrap());
        }
        let text = case["text"].as_str().unwrap();
        let e = assert_agrees(&p, &line(1, text));
        if let Ok(cdr) = p.parser.parse_line(1, text) {
            let direct = p.mapper.explain(&cdr);
            assert_eq!(
                direct.outcome,
                Outcome::from(p.mapper.map(&cdr)),
                "{}",
                case["name"]
            );
            assert_eq!(direct.owner, e.owner);
        }
    }
}

#[test]
fn a_line_that_does_not_parse_is_explained_as_refused_with_its_line() {
    let p = embedded_pipeline();
    let e = assert_agrees(&p, &line(4, "Call 1,abc,too few fields"));
    assert_eq!(e.outcome.kind(), "refused");
    assert!(e.to_string().contains("line 4"), "{e}");
}

#[test]
fn the_default_email_and_a_refused_owner_are_named() {
    let text = "Call 1,a_1,00:00:05,2020/06/29 07:56:32,,,,Ext.101,0466452265,101,,,,,,,,,,";
    let parser = pbx_core::cdr::CdrParser::new(pbx_core::cdr::FieldTemplate::v16_20());
    let cdr = parser.parse_line(1, text).unwrap();
    let users =
        ExtensionMap::new().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into()));
    let m = CallMapper::default().with_extensions(users);
    let e = m.explain(&cdr);
    assert_eq!(e.outcome, Outcome::from(m.map(&cdr)));
    let email = e.email.unwrap();
    assert_eq!(
        (email.email.as_str(), email.source.as_str()),
        ("pbx@example.com", EmailSource::DefaultEmail.code())
    );
    assert_eq!(e.owner.rule.as_deref(), Some("CALLING_DN"));
    assert_eq!(e.owner.from.as_deref(), Some("from-dn"));
    let other = e.other_party.unwrap();
    assert_eq!(other.raw, "0466452265");
    let Ok(Mapped::Call(req)) = m.map(&cdr) else {
        panic!()
    };
    assert_eq!(other.normalized, req.phone_number);
    assert_eq!(other.region, "US");

    // A user read from XAPI: the email's source says so.
    let mut user = User::new("101", "anna@example.com");
    user.origin = pbx_core::extensions::UserOrigin::Xapi;
    let m = CallMapper::default().with_extensions([user].into_iter().collect());
    let e = m.explain(&cdr);
    assert_eq!(e.email.map(|m| m.source), Some("xapi_user".to_owned()));

    // 101 as a service DN: the classification names it, the extension rule refuses it.
    let mut m = CallMapper::default()
        .with_extensions([User::new("101", "a@example.com")].into_iter().collect());
    m.direction_mut().service_dns = vec!["101".into()];
    let e = m.explain(&cdr);
    assert_eq!(e.outcome, Outcome::from(m.map(&cdr)));
    assert_eq!(e.outcome.skip_reason().map(|r| r.kind()), Some("no_owner"));
    assert!(e.owner.extension.is_none());
}

fn party(entity: &str, dn: &str) -> LegParty {
    LegParty {
        entity_type: Some(entity.into()),
        dn_number: Some(dn.into()),
        participant_phone_number: Some(dn.into()),
        participant_is_incoming: Some(entity == "external_line"),
        ..LegParty::default()
    }
}

#[test]
fn database_legs_name_the_owners_leg_and_the_legs_summed() {
    use chrono::{TimeZone, Utc};
    let t = |s| Some(Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, s).unwrap());
    let leg = |id: &str, src, dst, start, ans: Option<u32>, end| CdrLeg {
        cdr_id: id.into(),
        call_history_id: "m".into(),
        main_call_history_id: "m".into(),
        source: src,
        destination: dst,
        creation_method: Some(if id == "a" { "call_init" } else { "transfer" }.into()),
        started_at: t(start),
        answered_at: ans.and_then(t),
        ended_at: t(end),
        ..CdrLeg::default()
    };
    let legs = vec![
        leg(
            "a",
            party("external_line", "+19075550142"),
            party("queue", "800"),
            0,
            Some(1),
            5,
        ),
        leg(
            "b",
            party("queue", "800"),
            party("extension", "102"),
            5,
            Some(6),
            30,
        ),
        leg(
            "c",
            party("extension", "102"),
            party("extension", "103"),
            30,
            Some(31),
            50,
        ),
    ];
    let call = &group_legs(legs)[0];
    let m = CallMapper::default().with_extensions(
        [
            User::new("102", "b@example.com"),
            User::new("103", "c@example.com"),
        ]
        .into_iter()
        .collect(),
    );
    let e = m.explain_legs(call);
    let mapped = m.map_legs(call);
    assert_eq!(e.outcome, Outcome::from(mapped.clone()));
    let Ok(Mapped::Call(req)) = mapped else {
        panic!("{mapped:?}")
    };
    assert_eq!(
        e.owner.extension.as_deref(),
        Some(req.call_owner_extension.as_str())
    );
    assert_eq!(e.owner.rule.as_deref(), Some("LEG_ANSWERED"));
    assert!(
        e.owner
            .from
            .as_deref()
            .is_some_and(|f| f.starts_with("leg ")),
        "{:?}",
        e.owner
    );
    assert_eq!(e.talk_time.from, "legs");
    assert!(!e.talk_time.legs.is_empty());
    assert_eq!(e.legs.len(), 3);
    assert_eq!(e.direction.evidence[0].field, "leg a source");
    assert_eq!(e.direction.evidence[0].value, "external_line +19075550142");
    assert_eq!(e.talk_time.seconds, req.call_duration);

    // Through the pipeline, as the cdroutput source hands it over.
    let p = Pipeline {
        mapper: m,
        ..Pipeline::default()
    };
    let rec = SourceRecord {
        checkpoint: Checkpoint::new("x"),
        record: Ok(RawRecord::Legs(call.clone())),
    };
    assert_agrees(&p, &rec);
}
