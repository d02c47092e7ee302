//! The configuration loader: YAML, substitution, validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbx_core::config::Config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env = |name: &str| (name.len() % 2 == 0).then(|| format!("value-of-{name}"));
    let _ = Config::from_yaml(&text, &env);
});
