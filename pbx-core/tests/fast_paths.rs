//! The shortcuts taken for speed give the same answers as the general code they stand in for:
//! the hand-written API timestamp (vs chrono's RFC 3339 formatter), the whole-line UTF-8 check
//! of the CDR parser (vs decoding the line lossily first), the byte-wise talk-time reader and
//! line splitter (vs the `str` methods they replaced), and the call mapper's number cache (vs
//! normalizing every time).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use pbx_core::call::{CallMapper, MappingOptions, api_timestamp};
use pbx_core::cdr::{CdrParser, PartyNumber, parse_duration, parse_lines};
use pbx_core::phone::{Normalized, NumberPolicy, Region, api_number, normalize};
use proptest::prelude::*;

fn zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::America::Anchorage, // LMT before 1867 is +14:00:24, then -9:59:36
        chrono_tz::America::St_Johns,  // -03:30 / -02:30
        chrono_tz::Asia::Kolkata,      // +05:30
        chrono_tz::Asia::Kathmandu,    // +05:45
        chrono_tz::Europe::Amsterdam,  // +00:19:32 in the 1930s
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Africa::Monrovia, // -00:44:30 until 1972
    ])
}

/// `parse_duration` as it was written with `str` methods (hours 1–6 digits, minutes and
/// seconds two digits and at most 59, an optional fraction of 1–9 digits).
fn duration_reference(raw: &str) -> Option<std::time::Duration> {
    let digits = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (main, frac) = match raw.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (raw, None),
    };
    let mut parts = main.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || h.len() > 6 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s) = (digits(h)?, digits(m)?, digits(s)?);
    if m > 59 || s > 59 {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|c| c.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    Some(std::time::Duration::new(h * 3600 + m * 60 + s, nanos))
}

proptest! {
    #[test]
    fn durations_read_as_before(raw in "[0-9:.]{0,14}|[0-9]{1,7}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,10})?") {
        prop_assert_eq!(parse_duration(&raw), duration_reference(&raw));
    }

    #[test]
    fn lines_split_as_before(text in "(Call [0-9]{1,3},[0-9:]{0,8}|[ \t\r]{0,2}|\n){0,12}") {
        let parser = CdrParser::new("historyid,duration".parse().unwrap());
        let expected: Vec<_> = text
            .as_bytes()
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
            .map(|(i, l)| (i as u64 + 1, parser.parse_bytes(i as u64 + 1, l)))
            .collect();
        let got: Vec<_> = parse_lines(&parser, text.as_bytes()).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn api_timestamp_is_chronos_rfc3339(
        secs in -70_000_000_000i64..260_000_000_000,
        nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, 1_000_000_000u32..2_000_000_000],
        tz in zone(),
    ) {
        if let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) {
            prop_assert_eq!(
                api_timestamp(t, tz),
                t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Millis, false)
            );
        }
    }

    #[test]
    fn bytes_parse_as_their_lossy_text(
        fields in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                4 => proptest::sample::select(b"0123456789 abcXYZ.:/+-;".to_vec()),
                1 => proptest::sample::select(vec![b'"', b',', 0xc3, 0xa9, 0xe9, 0xff, 0x80, 0xe6, 0xbc]),
            ], 0..12),
            1..30,
        ),
    ) {
        let line = fields.join(&b","[..]);
        let parser = CdrParser::default();
        let text = String::from_utf8_lossy(&line);
        let as_bytes = parser.parse_bytes(1, &line);
        let as_text = parser.parse_line(1, &text);
        match (as_bytes, as_text) {
            // The length limit counts bytes, which lossy decoding changes.
            (Err(pbx_core::Error::LineTooLong { .. }), _) | (_, Err(pbx_core::Error::LineTooLong { .. })) => {}
            (a, b) => prop_assert_eq!(a, b),
        }
    }
}

#[test]
fn the_number_cache_never_changes_an_answer() {
    let numbers = [
        "+44 20 7946 0018",
        "011 46 70 123 45 67",
        "+49 30 1234567",
        "0701234567",
        "+46 70 301 40 82",
        "(907) 555-1234",
        "12-34",
        "55,2407",
        "tel:+1-201-555-0123;ext=1234",
        "1-800-FLOWERS",
        "+1 907 555 1234 x12",
        "011442079460018",
        "anonymous",
        "101",
        "999999999999999999999",
    ];
    let mut mapper = CallMapper::default();
    for region in [
        Region::US,
        "SE".parse().unwrap(),
        "GB".parse().unwrap(),
        Region::US,
    ] {
        let options = MappingOptions {
            default_region: region,
            ..mapper.options().clone()
        };
        mapper = mapper.with_options(options);
        let policy = NumberPolicy::new(region);
        for round in 0..3 {
            for raw in numbers {
                let n = PartyNumber::parse(raw);
                let expected = match n.extension() {
                    Some(ext) => ext.to_owned(),
                    None => match normalize(n.as_str(), &policy) {
                        Normalized::E164 { value, .. } | Normalized::Internal { value } => value,
                        Normalized::Anonymous => "anonymous".to_owned(),
                        _ => api_number(&n),
                    },
                };
                assert_eq!(
                    mapper.phone_number(&n),
                    expected,
                    "{raw} in {region}, round {round}"
                );
            }
        }
    }
    assert!(!mapper.number_cache().is_empty());
    assert!(mapper.clone().number_cache().is_empty());
}
