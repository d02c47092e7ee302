//! Helper for `benches/compare.sh` and for profiling the core path:
//!
//! - `core-bench lines N`: print the bundled sample replicated to N lines;
//! - `core-bench time FILE [RUNS]`: over FILE's lines, one thread, best of RUNS (default 5):
//!   parse only, and the whole core path (parse + classify + normalize + map, with the mapper
//!   `pbx-convert --timezone America/Anchorage --extensions examples/data/extensions.yml`
//!   uses); prints `parse=<lines/s> core=<lines/s> calls=<n> skipped=<n> errors=<n>`;
//! - `core-bench once FILE`: the core path once over FILE (for callgrind).

use std::time::Instant;

use pbx_core::call::Mapped;
use pbx_core::cdr::{CdrParser, parse_lines};

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
            let parse = best(&|| {
                for (_, r) in parse_lines(&parser, &text) {
                    std::hint::black_box(r.is_ok());
                }
            });
            let core = best(&|| {
                std::hint::black_box(core_path(&text, &parser, &mapper).calls);
            });
            let t = core_path(&text, &parser, &mapper);
            println!(
                "parse={:.0} core={:.0} lines={lines} calls={} skipped={} errors={}",
                lines as f64 / parse,
                lines as f64 / core,
                t.calls,
                t.skipped,
                t.errors
            );
        }
        "once" => {
            let text = read(arg(1));
            let t = core_path(&text, &CdrParser::default(), &pbx_benches::sample_mapper());
            println!(
                "calls={} skipped={} errors={}",
                t.calls, t.skipped, t.errors
            );
        }
        _ => {
            eprintln!("usage: core-bench lines N | time FILE [RUNS] | once FILE");
            std::process::exit(2);
        }
    }
}
