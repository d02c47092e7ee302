//! Shared inputs for the pbx benchmarks: the bundled sample CDR file, embedded.

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
