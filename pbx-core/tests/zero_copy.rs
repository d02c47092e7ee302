//! The zero-copy path gives the same answers as the owned one: `CdrParser::parse_ref` +
//! `CallMapper::map_json` against `parse_bytes` + `map` + `serde_json`, and `classify_ref`
//! against `classify`, over the bundled samples and over sample lines with fields replaced at
//! random (types, numbers, DNs, chains, ids, times), with several mapper settings.

use pbx_core::call::{CallMapper, InternalCalls, Mapped, MappedJson};
use pbx_core::cdr::{CdrParser, FieldTemplate};
use pbx_core::direction::{classify, classify_ref};
use pbx_core::extensions::{ExtensionMap, User};
use proptest::prelude::*;

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");
const SAMPLE_V16: &str = include_str!("../../examples/data/cdr-v16-20field.log");

fn mappers() -> Vec<CallMapper> {
    let ext: ExtensionMap = ["101", "102", "103", "10016", "194", "611", "195"]
        .into_iter()
        .map(|e| User::new(e, format!("user{e}@example.com")))
        .collect();
    let mut a = CallMapper::default().with_extensions(ext.clone());
    a.options_mut().timezone = chrono_tz::America::Anchorage;
    let mut b = a.clone();
    b.options_mut().internal_calls = InternalCalls::AsOutbound;
    let mut direction = b.direction().clone();
    direction.trunk_dns = vec!["10000".into()];
    direction.service_dns = vec!["800".into(), "611".into()];
    let b = b.with_direction(direction);
    let mut c = CallMapper::default().with_extensions(ext);
    c.options_mut().call_id_prefix = "pbx\"x".into();
    c.options_mut().default_region = "SE".parse().unwrap();
    vec![a, b, c]
}

/// Checks one line with every mapper.
fn check(parser: &CdrParser, mappers: &[CallMapper], line: &[u8]) -> Result<(), TestCaseError> {
    let mut scratch = Vec::new();
    let owned = parser.parse_bytes(7, line);
    let borrowed = parser.parse_ref(7, line, &mut scratch);
    let (owned, borrowed) = match (owned, borrowed) {
        (Ok(o), Ok(b)) => (o, b),
        (Err(a), Err(b)) => {
            prop_assert_eq!(a.to_string(), b.to_string());
            return Ok(());
        }
        (a, b) => return Err(TestCaseError::fail(format!("{a:?} vs {b:?}"))),
    };
    prop_assert_eq!(&borrowed.to_cdr(), &owned);
    for m in mappers {
        prop_assert_eq!(
            classify_ref(&borrowed, m.direction()).to_owned_classification(),
            classify(&owned, m.direction())
        );
        let mut out = b"prefix".to_vec();
        let fast = m.map_json(&borrowed, &mut out);
        match (m.map(&owned), fast) {
            (Ok(Mapped::Call(call)), Ok(MappedJson::Call)) => {
                let mut want = b"prefix".to_vec();
                serde_json::to_writer(&mut want, &call).unwrap();
                prop_assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&want)
                );
            }
            (Ok(Mapped::Skipped(a)), Ok(MappedJson::Skipped(b))) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(&out, b"prefix");
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => return Err(TestCaseError::fail(format!("{a:?} vs {b:?}"))),
        }
        prop_assert_eq!(m.map_record(&borrowed).ok(), m.map(&owned).ok());
    }
    Ok(())
}

#[test]
fn bundled_samples_agree() {
    let mappers = mappers();
    for (text, template) in [
        (SAMPLE, FieldTemplate::v20_27()),
        (SAMPLE_V16, FieldTemplate::v16_20()),
    ] {
        let parser = CdrParser::new(template);
        for line in text.lines() {
            check(&parser, &mappers, line.as_bytes()).unwrap();
        }
    }
}

fn value() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "",
        " ",
        "Ext.101",
        "Ext.102",
        "ext. 194 ",
        "101",
        "611",
        "10000",
        "800",
        "0466452265",
        "+46703014082",
        "(907) 555-1234",
        "+1 907 555 1234",
        "011 44 20 7946 0018",
        "anonymous",
        "EndCall",
        "PickupExt.125",
        "sip:102@pbx.local",
        "12-34",
        "Extension",
        "Line",
        "external_line",
        "outbound_rule",
        "Queue",
        "RingGroup",
        "VMail",
        "Wormhole",
        "Ivr",
        "Chain: 0466452265;Ext.611;Ext.194;",
        "Chain: Ext.101;Ext.800;",
        ";;",
        "Call 5",
        "x_1",
        "2020/06/29 07:56:32",
        "2024-06-17T05:59:49.5",
        "00:03:43",
        "bad",
        "\"quoted, text\"",
        "Jos\u{e9}",
        "TerminatedBySrc",
        "ReplacedDst",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn edited_sample_lines_agree(
        line in proptest::sample::select(SAMPLE.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>()),
        edits in proptest::collection::vec((0usize..27, value()), 0..6),
        latin1 in any::<bool>(),
    ) {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        for (i, v) in edits {
            if let Some(f) = fields.get_mut(i) {
                *f = v;
            }
        }
        let mut bytes = fields.join(",").into_bytes();
        if latin1 {
            // `José` as Latin-1: not UTF-8, decoded lossily.
            bytes = String::from_utf8(bytes).unwrap().replace("Jos\u{e9}", "Jos\u{1}").into_bytes();
            for b in &mut bytes {
                if *b == 1 {
                    *b = 0xe9;
                }
            }
        }
        check(&CdrParser::new(FieldTemplate::v20_27()), &mappers(), &bytes)?;
    }
}
