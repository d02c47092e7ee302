//! A CDR line in any template, then the whole core path: parse, classify, map.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pbx_core::call::CallMapper;
use pbx_core::cdr::{CdrParser, Field, FieldTemplate, parse_lines};

static MAPPER: OnceLock<CallMapper> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&pick, line)) = data.split_first() else { return };
    let template = match pick % 3 {
        0 => FieldTemplate::v20_27(),
        1 => FieldTemplate::v16_20(),
        _ => {
            // A template of the fields named by the low bits of the next bytes.
            let fields: Vec<Field> = line.iter().take(8).map(|b| Field::ALL[*b as usize % 27]).collect();
            let mut unique = Vec::new();
            for f in fields {
                if !unique.contains(&f) {
                    unique.push(f);
                }
            }
            FieldTemplate::new(unique).unwrap_or_default()
        }
    };
    let parser = CdrParser::new(template);
    let mapper = MAPPER.get_or_init(CallMapper::default);
    for (_, result) in parse_lines(&parser, line) {
        if let Ok(cdr) = result {
            let _ = mapper.map(&cdr);
        }
    }
});
