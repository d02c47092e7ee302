//! Phone-number normalization through the batch path (`pbx_core::phone::normalize_batch`), one
//! thread. Figures and the comparison with Python `phonenumbers` and `libphonenumber-js`:
//! `benches/README.md`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::phone::{NumberPolicy, normalize_batch};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let policy = NumberPolicy::default(); // US, E.164
    let inputs = [
        ("mix", pbx_benches::phone_mix(10_000)),
        (
            "nanp_parenthesized",
            pbx_benches::nanp_parenthesized(10_000),
        ),
        (
            "international_only",
            pbx_benches::phone_mix(40_000)
                .into_iter()
                .filter(|s| s.starts_with("+4") || s.starts_with("+6") || s.starts_with("011"))
                .take(2_000)
                .collect(),
        ),
        ("worst_cases", pbx_benches::phone_worst_cases(1_600)),
    ];
    let mut g = c.benchmark_group("phone");
    for (name, raws) in &inputs {
        let refs: Vec<&str> = raws.iter().map(String::as_str).collect();
        g.throughput(Throughput::Elements(refs.len() as u64));
        g.bench_function(format!("normalize_batch/{name}"), |b| {
            b.iter(|| black_box(normalize_batch(black_box(&refs), &policy)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
