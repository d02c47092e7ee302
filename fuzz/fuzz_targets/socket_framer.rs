//! The CDR socket line framer: fed whole or cut into reads at fuzzer-chosen points, it gives
//! the same lines and the same error, and every line it hands out is within the limit, has no
//! line end and no control byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbx_core::framing::{FrameError, LineFramer};

fn run(max: usize, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut framer = LineFramer::new(max);
    let mut lines = Vec::new();
    for chunk in chunks {
        if let Err(e) = framer.push(chunk, |l| lines.push(l.to_vec())) {
            return (lines, Some(e));
        }
        assert!(framer.buffered() <= max + 1, "held more than the limit");
    }
    let err = framer.finish(|l| lines.push(l.to_vec())).err();
    (lines, err)
}

fuzz_target!(|data: &[u8]| {
    // First byte: the line limit; second: the read size; the rest: the stream.
    let [max, step, stream @ ..] = data else { return };
    let max = usize::from(*max);
    let step = usize::from(*step).max(1);
    let whole = run(max, &[stream]);
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();
    assert_eq!(run(max, &chunks), whole);
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(max, &bytes), whole);
    for line in &whole.0 {
        assert!(line.len() <= max);
        assert!(!line.contains(&b'\n'));
        assert!(!line.iter().all(u8::is_ascii_whitespace));
        assert!(!line.iter().any(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f));
    }
});
