//! Helper for `benches/compare-phone.sh`:
//!
//! - `phone-bench mix N` / `phone-bench nanp N`: print the benchmark inputs, one per line;
//! - `phone-bench time FILE`: normalize FILE's lines (region US, E.164) through
//!   `normalize_batch`, best of 5 runs, and print `numbers/s`;
//! - `phone-bench cold`: the time from process start to the first libphonenumber answer
//!   (metadata load included), in milliseconds.

use std::time::Instant;

use pbx_core::phone::{NumberPolicy, normalize, normalize_batch};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "mix" | "nanp" => {
            let n = arg(1).parse().unwrap_or(1_000_000);
            let inputs = if arg(0) == "mix" {
                pbx_benches::phone_mix(n)
            } else {
                pbx_benches::nanp_parenthesized(n)
            };
            for s in inputs {
                println!("{s}");
            }
        }
        "time" => {
            let text = std::fs::read_to_string(arg(1)).expect("a readable input file");
            let raws: Vec<&str> = text.lines().collect();
            let policy = NumberPolicy::default();
            let mut best = f64::MAX;
            let mut checksum = 0usize;
            for _ in 0..5 {
                let t = Instant::now();
                let out = normalize_batch(&raws, &policy);
                best = best.min(t.elapsed().as_secs_f64());
                checksum += out.iter().filter(|n| n.kind() == "e164").count();
            }
            println!(
                "{:.0} numbers/s ({} inputs, {} E.164 per run)",
                raws.len() as f64 / best,
                raws.len(),
                checksum / 5
            );
        }
        "cold" => {
            let t = Instant::now();
            // Not a NANP fast-path spelling: needs libphonenumber and its metadata.
            let n = normalize("+44 20 7946 0018", &NumberPolicy::default());
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            println!("{ms:.2} ms to the first libphonenumber answer ({n:?})");
        }
        _ => {
            eprintln!("usage: phone-bench mix N | nanp N | time FILE | cold");
            std::process::exit(2);
        }
    }
}
