//! The bundled sample data against its hand-derived expectations
//! (`examples/data/cdr-sample.expected.tsv`, written independently of this code).

use pbx_core::cdr::{CdrParser, FieldTemplate, parse_lines};
use pbx_core::direction::{DirectionPolicy, classify};

const SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-sample.log"
));
const EXPECTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-sample.expected.tsv"
));
const V16: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-v16-20field.log"
));

#[test]
fn every_sample_line_matches_its_expected_row() {
    let parser = CdrParser::new(FieldTemplate::v20_27());
    let policy = DirectionPolicy::default();
    let rows: Vec<Vec<&str>> = EXPECTED
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let results: Vec<_> = parse_lines(&parser, SAMPLE.as_bytes()).collect();
    assert!(
        results.len() >= 50,
        "the sample has {} lines",
        results.len()
    );
    assert_eq!(results.len(), rows.len());
    for ((line, result), row) in results.iter().zip(&rows) {
        assert_eq!(row[0], line.to_string());
        let cdr = result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        let c = classify(cdr, &policy);
        let got = [
            c.direction.to_string(),
            c.owner.clone().unwrap_or_default(),
            c.counterpart
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            cdr.talk_seconds().to_string(),
        ];
        assert_eq!(got.as_slice(), &row[1..5], "line {line}: rule {}", c.rule);
    }
}

#[test]
fn every_v16_line_parses_with_the_20_field_template() {
    let parser = CdrParser::new(FieldTemplate::v16_20());
    let results: Vec<_> = parse_lines(&parser, V16.as_bytes()).collect();
    assert_eq!(results.len(), 10);
    for (line, r) in &results {
        let cdr = r.as_ref().unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert!(cdr.time_start.is_some(), "line {line}");
    }
}
