//! CDR parse and the whole core path (parse + classify + map) per line.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::call::CallMapper;
use pbx_core::cdr::CdrParser;
use pbx_core::extensions::User;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let lines = pbx_benches::sample_lines(10_000);
    let parser = CdrParser::default();
    let mut mapper = CallMapper::default();
    mapper.options.timezone = chrono_tz_anchorage();
    mapper.extensions = (101..=111)
        .map(|e| User::new(e.to_string(), format!("user{e}@example.com")))
        .collect();

    let mut g = c.benchmark_group("cdr");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_line", |b| {
        b.iter(|| {
            for (i, l) in lines.iter().enumerate() {
                let _ = black_box(parser.parse_line(i as u64 + 1, l));
            }
        })
    });
    g.bench_function("parse_classify_map", |b| {
        b.iter(|| {
            for (i, l) in lines.iter().enumerate() {
                if let Ok(cdr) = parser.parse_line(i as u64 + 1, l) {
                    let _ = black_box(mapper.map(&cdr));
                }
            }
        })
    });
    g.finish();
}

fn chrono_tz_anchorage() -> chrono_tz::Tz {
    pbx_core::call::parse_timezone("timezone", "America/Anchorage").expect("a known zone")
}

criterion_group!(benches, bench);
criterion_main!(benches);
