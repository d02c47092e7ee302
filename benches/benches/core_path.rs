//! CDR parse and the whole core path per line (parse + classify + normalize + map), over the
//! bundled sample replicated to 10 000 and to 1 000 000 lines, with the mapper `pbx-convert
//! --timezone America/Anchorage --extensions examples/data/extensions.yml` uses: the owned path
//! (`parse_line` → `Cdr`, `map` → `CallRequest`) and the zero-copy path (`parse_ref` →
//! `CdrRef` into one scratch buffer, `map_json` into one reused output buffer).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::call::MappedJson;
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
        g.bench_function(format!("parse_ref/{n}"), |b| {
            let mut scratch = Vec::with_capacity(1024);
            b.iter(|| {
                for (i, l) in lines.iter().enumerate() {
                    let _ = black_box(parser.parse_ref(i as u64 + 1, l.as_bytes(), &mut scratch));
                }
            })
        });
        g.bench_function(format!("parse_ref_map_json/{n}"), |b| {
            let mut scratch = Vec::with_capacity(1024);
            let mut out = Vec::with_capacity(1 << 16);
            b.iter(|| {
                for (i, l) in lines.iter().enumerate() {
                    if out.len() > (1 << 16) - 1024 {
                        black_box(&out);
                        out.clear();
                    }
                    if let Ok(cdr) = parser.parse_ref(i as u64 + 1, l.as_bytes(), &mut scratch)
                        && let Ok(MappedJson::Call) = mapper.map_json(&cdr, &mut out)
                    {
                        out.push(b'\n');
                    }
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
