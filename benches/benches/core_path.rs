//! CDR parse and the whole core path per line (parse + classify + normalize + map), over the
//! bundled sample replicated to 10 000 and to 1 000 000 lines, with the mapper `pbx-convert
//! --timezone America/Anchorage --extensions examples/data/extensions.yml` uses.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::cdr::CdrParser;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let parser = CdrParser::default();
    let mapper = pbx_benches::sample_mapper();
    let mut g = c.benchmark_group("cdr");
    for n in [10_000, 1_000_000] {
        let lines = pbx_benches::sample_lines(n);
        if n >= 1_000_000 {
            g.sample_size(10);
        }
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.bench_function(format!("parse_line/{n}"), |b| {
            b.iter(|| {
                for (i, l) in lines.iter().enumerate() {
                    let _ = black_box(parser.parse_line(i as u64 + 1, l));
                }
            })
        });
        g.bench_function(format!("parse_classify_map/{n}"), |b| {
            b.iter(|| {
                for (i, l) in lines.iter().enumerate() {
                    if let Ok(cdr) = parser.parse_line(i as u64 + 1, l) {
                        let _ = black_box(mapper.map(&cdr));
                    }
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
