//! Phone normalization in a few regions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbx_core::phone::{NumberPolicy, Region, normalize};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let region = ["US", "SE", "GB", "DE", "AU", "FR"][pick as usize % 6];
    let Ok(region) = Region::parse("region", region) else { return };
    let policy = NumberPolicy::new(region);
    let _ = normalize(&String::from_utf8_lossy(rest), &policy);
});
