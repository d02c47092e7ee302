//! Helper for `benches/compare.sh` and for profiling the core path:
//!
//! - `core-bench lines N`: print the bundled sample replicated to N lines;
//! - `core-bench time FILE [RUNS]`: over FILE's lines, one thread, best of RUNS (default 5):
//!   parse only, and the whole core path (parse + classify + normalize + map + serialize, with
//!   the mapper `pbx-convert --timezone America/Anchorage --extensions
//!   examples/data/extensions.yml` uses), both on the zero-copy path (`CdrParser::parse_ref`,
//!   `CallMapper::map_json` into one reused buffer) and on the owned path (`parse_bytes` →
//!   `Cdr`, `map` → `CallRequest`, no serialization); prints `parse=<lines/s> core=<lines/s>
//!   parse_owned=<lines/s> core_owned=<lines/s> lines=<n> calls=<n> skipped=<n> errors=<n>`;
//! - `core-bench once FILE [owned]`: the core path once over FILE (for callgrind), zero-copy
//!   unless `owned`.

use std::time::Instant;

use pbx_core::call::{CallMapper, Mapped, MappedJson};
use pbx_core::cdr::{CdrParser, parse_lines, split_lines};

#[derive(Default)]
struct Tally {
    calls: usize,
    skipped: usize,
    errors: usize,
}

fn core_path(text: &[u8], parser: &CdrParser, mapper: &pbx_core::call::CallMapper) -> Tally {
    let mut t = Tally::default();
    for (_, r) in parse_lines(parser, text) {
        match r.and_then(|cdr| mapper.map(&cdr)) {
            Ok(Mapped::Call(c)) => {
                t.calls += 1;
                std::hint::black_box(c);
            }
            Ok(_) => t.skipped += 1,
            Err(_) => t.errors += 1,
        }
    }
    t
}

/// The zero-copy core path: one scratch buffer for the records, one output buffer for the
/// JSON lines (cleared every 64 KiB, as a writer's buffer would be flushed).
fn fast_path(text: &[u8], parser: &CdrParser, mapper: &CallMapper) -> Tally {
    let mut t = Tally::default();
    let mut scratch = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(1 << 16);
    for (n, line) in split_lines(text) {
        if out.len() > (1 << 16) - 1024 {
            std::hint::black_box(&out);
            out.clear();
        }
        match parser
            .parse_ref(n, line, &mut scratch)
            .and_then(|cdr| mapper.map_json(&cdr, &mut out))
        {
            Ok(MappedJson::Call) => {
                out.push(b'\n');
                t.calls += 1;
            }
            Ok(_) => t.skipped += 1,
            Err(_) => t.errors += 1,
        }
    }
    std::hint::black_box(&out);
    t
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let read = |path: &str| std::fs::read(path).expect("a readable input file");
    match arg(0) {
        "lines" => {
            let n = arg(1).parse().unwrap_or(1_000_000);
            let mut out = String::with_capacity(n * 270);
            for l in pbx_benches::sample_lines(n) {
                out.push_str(l);
                out.push('\n');
            }
            print!("{out}");
        }
        "time" => {
            let text = read(arg(1));
            let runs: usize = arg(2).parse().unwrap_or(5);
            let parser = CdrParser::default();
            let mapper = pbx_benches::sample_mapper();
            let lines = parse_lines(&parser, &text).count();
            let best = |f: &dyn Fn()| {
                (0..runs.max(1))
                    .map(|_| {
                        let t = Instant::now();
                        f();
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::MAX, f64::min)
            };
            let parse_owned = best(&|| {
                for (_, r) in parse_lines(&parser, &text) {
                    std::hint::black_box(r.is_ok());
                }
            });
            let parse = best(&|| {
                let mut scratch = Vec::with_capacity(1024);
                for (n, line) in split_lines(&text) {
                    std::hint::black_box(parser.parse_ref(n, line, &mut scratch).is_ok());
                }
            });
            let core_owned = best(&|| {
                std::hint::black_box(core_path(&text, &parser, &mapper).calls);
            });
            let core = best(&|| {
                std::hint::black_box(fast_path(&text, &parser, &mapper).calls);
            });
            let t = fast_path(&text, &parser, &mapper);
            let o = core_path(&text, &parser, &mapper);
            assert_eq!(
                (t.calls, t.skipped, t.errors),
                (o.calls, o.skipped, o.errors),
                "both paths map the same"
            );
            println!(
                "parse={:.0} core={:.0} parse_owned={:.0} core_owned={:.0} lines={lines} calls={} skipped={} errors={}",
                lines as f64 / parse,
                lines as f64 / core,
                lines as f64 / parse_owned,
                lines as f64 / core_owned,
                t.calls,
                t.skipped,
                t.errors
            );
        }
        "once" => {
            let text = read(arg(1));
            let (parser, mapper) = (CdrParser::default(), pbx_benches::sample_mapper());
            let t = if arg(2) == "owned" {
                core_path(&text, &parser, &mapper)
            } else {
                fast_path(&text, &parser, &mapper)
            };
            println!(
                "calls={} skipped={} errors={}",
                t.calls, t.skipped, t.errors
            );
        }
        _ => {
            eprintln!("usage: core-bench lines N | time FILE [RUNS] | once FILE [owned]");
            std::process::exit(2);
        }
    }
}
