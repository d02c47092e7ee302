//! The Rust half of the phone differential test (`pbx-core/tests/phone_diff/`, run by
//! `scripts/test.sh`): reads JSON lines `{"region": "US", "raw": "…"}` from the file named by
//! `PBX_PHONE_DIFF_IN` and writes `pbx_core::phone::normalize`'s outcome for each, one JSON
//! line per input, to the file named by `PBX_PHONE_DIFF_OUT`. Ignored unless asked for
//! (`cargo test -p pbx-core --test phone_diff -- --ignored`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use pbx_core::phone::{NumberPolicy, Region, normalize};

#[derive(serde::Deserialize)]
struct Case {
    region: String,
    raw: String,
}

#[test]
#[ignore = "run by scripts/test.sh through pbx-core/tests/phone_diff/run.sh"]
fn dump_normalized() {
    let (Ok(input), Ok(output)) = (
        std::env::var("PBX_PHONE_DIFF_IN"),
        std::env::var("PBX_PHONE_DIFF_OUT"),
    ) else {
        panic!("set PBX_PHONE_DIFF_IN and PBX_PHONE_DIFF_OUT");
    };
    let reader = BufReader::new(File::open(&input).expect("PBX_PHONE_DIFF_IN is readable"));
    let mut out = BufWriter::new(File::create(&output).expect("PBX_PHONE_DIFF_OUT is writable"));
    let mut policies: HashMap<String, NumberPolicy> = HashMap::new();
    for line in reader.lines() {
        let line = line.expect("input is UTF-8 text");
        let case: Case = serde_json::from_str(&line).expect("a JSON line {region, raw}");
        let policy = policies.entry(case.region.clone()).or_insert_with(|| {
            NumberPolicy::new(Region::parse("region", &case.region).expect("a known region"))
        });
        serde_json::to_writer(&mut out, &normalize(&case.raw, policy)).expect("write");
        out.write_all(b"\n").expect("write");
    }
    out.flush().expect("write");
}
