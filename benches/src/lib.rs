//! Shared inputs for the pbx benchmarks: the bundled sample CDR file and its extension map,
//! embedded.

use pbx_core::call::{CallMapper, MappingOptions};
use pbx_core::extensions::ExtensionMap;

/// The bundled sample (`examples/data/cdr-sample.log`, 27-field layout).
pub const SAMPLE_CDR: &str = include_str!("../../examples/data/cdr-sample.log");

/// The sample's lines (without line endings), repeated until there are `n` of them.
///
/// ```
/// assert_eq!(pbx_benches::sample_lines(100).len(), 100);
/// ```
pub fn sample_lines(n: usize) -> Vec<&'static str> {
    let lines: Vec<&str> = SAMPLE_CDR
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines.iter().copied().cycle().take(n).collect()
}

/// The bundled extension map (`examples/data/extensions.yml`).
pub const SAMPLE_EXTENSIONS_YAML: &str = include_str!("../../examples/data/extensions.yml");

/// The mapper `pbx-convert --timezone America/Anchorage --extensions
/// examples/data/extensions.yml` uses for the bundled sample (and the Python and Node
/// comparisons in `benches/compare.sh`).
///
/// ```
/// let m = pbx_benches::sample_mapper();
/// assert_eq!(m.extensions().email_for("101"), Some("anna.berg@example.com"));
/// ```
pub fn sample_mapper() -> CallMapper {
    #[derive(serde::Deserialize)]
    struct File {
        extensions: ExtensionMap,
    }
    let file: File =
        serde_saphyr::from_str(SAMPLE_EXTENSIONS_YAML).expect("the bundled extensions.yml reads");
    let options = MappingOptions {
        timezone: chrono_tz::America::Anchorage,
        ..MappingOptions::default()
    };
    CallMapper::default()
        .with_options(options)
        .with_extensions(file.extensions)
}

/// A realistic mix of counterpart numbers as 3CX writes them, `n` of them, deterministic:
/// 45 % NANP national spellings (`(907) 555-1234`, `907.555.1234`, `9075551234`,
/// `1-907-555-1234`), 30 % NANP E.164 spellings (`+19075551234`, `+1 907 555 1234`), 15 %
/// international (`+44 20 7946 0018`, `011 46 70 123 45 67`, `+49 30 1234567`), 5 % internal
/// (`Ext.101`, `sip:102@pbx.local`, `103`) and 5 % withheld or special (`anonymous`, `EndCall`).
///
/// ```
/// let mix = pbx_benches::phone_mix(1000);
/// assert_eq!(mix.len(), 1000);
/// assert_eq!(mix, pbx_benches::phone_mix(1000));
/// ```
pub fn phone_mix(n: usize) -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: deterministic, good enough to vary digits.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    (0..n)
        .map(|_| {
            let r = next();
            let area = 201 + (r >> 8) % 790;
            let exch = 200 + (r >> 20) % 800;
            let line = (r >> 32) % 10_000;
            match r % 100 {
                0..=14 => format!("({area}) {exch}-{line:04}"),
                15..=24 => format!("{area}.{exch}.{line:04}"),
                25..=37 => format!("{area}{exch}{line:04}"),
                38..=44 => format!("1-{area}-{exch}-{line:04}"),
                45..=64 => format!("+1{area}{exch}{line:04}"),
                65..=74 => format!("+1 {area} {exch} {line:04}"),
                75..=79 => format!("+44 20 7946 {line:04}"),
                80..=83 => format!("011 46 70 {:03} {:02} {:02}", exch, line % 100, line / 100),
                84..=86 => format!("+49 30 {exch}{line:04}"),
                87..=89 => format!(
                    "+61 4{:02} {exch} {line:03}",
                    line % 100,
                    line = line % 1000
                ),
                90..=91 => format!("Ext.{}", 100 + line % 50),
                92..=93 => format!("sip:{}@pbx.local", 100 + line % 50),
                94 => format!("{}", 100 + line % 50),
                95..=97 => "anonymous".to_owned(),
                _ => "EndCall".to_owned(),
            }
        })
        .collect()
}

/// `n` hard inputs, cycling through the slow shapes: international numbers with extensions,
/// vanity letters, RFC 3966 `tel:` URIs with a `phone-context`, caller-id codes before an
/// international number, invalid numbers libphonenumber parses to the end before refusing,
/// and 250-character text (the longest libphonenumber reads).
///
/// ```
/// assert_eq!(pbx_benches::phone_worst_cases(20).len(), 20);
/// ```
pub fn phone_worst_cases(n: usize) -> Vec<String> {
    let long_digits = "0123456789".repeat(25);
    let long_text = "+1 (907) 555-1234, please call back after 5 pm ".repeat(6);
    let cases: Vec<String> = vec![
        "+44 20 7946 0018 ext. 1234".into(),
        "011 49 (0)30 1234 5678 x99".into(),
        "1-800-FLOWERS".into(),
        "+1 800 GOT JUNK".into(),
        "tel:7946-0018;phone-context=+44-20".into(),
        "tel:+46-70-123-45-67;ext=12".into(),
        "*67 +61 4 1234 5678".into(),
        "#31#0046701234567".into(),
        "+999 123 456 789".into(),
        "+44 1".into(),
        "00 800 1234 5678 9012".into(),
        "+1 907 555 1234 5678 9012 3456".into(),
        long_digits[..250].to_owned(),
        long_text[..250].to_owned(),
        "sip:+390612345678@carrier.example;user=phone".into(),
        "(0xx) 555-01234".into(),
    ];
    cases.iter().cycle().take(n).cloned().collect()
}

/// `n` inputs like `(207) 555-0707` (the reference measurements' shape), deterministic.
///
/// ```
/// assert_eq!(pbx_benches::nanp_parenthesized(2), ["(201) 555-0100", "(202) 555-0101"]);
/// ```
pub fn nanp_parenthesized(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("({}) 555-{:04}", 201 + i % 790, 100 + i % 9900))
        .collect()
}
