//! A call sink that appends call requests to a JSON-lines file: a dry run, a demo, or a hand
//! over to another system. Like the API, it answers `Duplicate` for a `pbxCallId` the file
//! already holds, so re-sent calls are never written twice.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pbx_core::call::CallRequest;
use pbx_core::{CallSink, DeliveryOutcome, FailureKind};

use crate::bounded::{CappedLine, read_line_capped};

/// Appends each call as one JSON line (synced to disk before it counts as delivered).
#[derive(Debug)]
pub struct JsonLinesSink {
    path: Arc<PathBuf>,
    state: Arc<Mutex<HashSet<String>>>,
}

impl JsonLinesSink {
    /// A sink writing to `path` (its folder is created). Calls already in the file are known,
    /// so sending them again answers `Duplicate`.
    ///
    /// The file is read line by line, each line at most [`MAX_CALL_LINE`] bytes, and every
    /// complete line must be a call request — so a file that is not a call file (a text file,
    /// the checkpoint, `/dev/full`) is refused, untouched. Then, and only then, a last line
    /// without its line end that is the start of a call request — written only in part when
    /// the process died — is cut off (and logged), as the socket journal does: its call was
    /// never acknowledged, so it is sent again. A torn last line that is not the start of a
    /// call request is refused too.
    ///
    /// # Errors
    /// When the file exists but cannot be read or cut, a complete line is not a call request,
    /// a line is over [`MAX_CALL_LINE`], or a torn last line is not the start of one.
    pub fn open(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let mut ids = HashSet::new();
        match std::fs::File::open(&path) {
            Ok(file) => {
                if let Some(complete) = read_calls(&path, file, &mut ids)? {
                    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
                    let len = file.metadata()?.len();
                    file.set_len(complete)?;
                    file.sync_all()?;
                    tracing::warn!(
                        path = %path.display(),
                        bytes = len - complete,
                        "cut a partly written last line from the call file (the process stopped mid-write); its call will be written again"
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(JsonLinesSink {
            path: Arc::new(path),
            state: Arc::new(Mutex::new(ids)),
        })
    }

    /// How many calls the file holds.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.len())
    }

    /// Whether the file holds no call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The longest line of a call file read back: a call request is well under 64 KiB. A longer
/// line (or an endless one, `/dev/full`) means the file is not a call file; it is not read
/// past this.
pub const MAX_CALL_LINE: usize = 1024 * 1024;

/// How a call request's JSON line starts (its first field).
const CALL_START: &[u8] = b"{\"phoneNumber\":";

/// Reads the call file `file` into `ids`; returns where to cut it when its last line is a
/// torn call request (`Some(length to keep)`), `None` when it ends cleanly. Never changes the
/// file.
fn read_calls(
    path: &Path,
    file: std::fs::File,
    ids: &mut HashSet<String>,
) -> std::io::Result<Option<u64>> {
    let not_ours = |line: u64, why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} line {line} is not a call request ({why}): this is not a call file written by pbx; \
                 it was not changed — fix or move it, or point call_api.base_url at another file",
                path.display()
            ),
        )
    };
    let mut reader = std::io::BufReader::new(file);
    let mut buf = Vec::new();
    let mut offset = 0u64;
    for line in 1u64.. {
        buf.clear();
        let ended = match read_line_capped(&mut reader, &mut buf, MAX_CALL_LINE)? {
            CappedLine::End => return Ok(None),
            CappedLine::TooLong => {
                return Err(not_ours(
                    line,
                    format!("it is over the limit of {MAX_CALL_LINE} bytes"),
                ));
            }
            CappedLine::Unterminated => false,
            CappedLine::Complete => true,
        };
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if ended {
            offset += buf.len() as u64;
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let call: CallRequest =
                serde_json::from_slice(text).map_err(|e| not_ours(line, e.to_string()))?;
            ids.insert(call.pbx_call_id);
            continue;
        }
        // The last line, without a line end: ours only if it is the start of a call request.
        let prefix = &text[..text.len().min(CALL_START.len())];
        let parsed = serde_json::from_slice::<CallRequest>(text);
        let torn_call = CALL_START.starts_with(prefix)
            && match &parsed {
                Ok(_) => true,
                Err(e) => e.is_eof(),
            };
        if !torn_call {
            return Err(not_ours(
                line,
                "its last line has no line end and is not the start of a call request".into(),
            ));
        }
        return Ok(Some(offset));
    }
    Ok(None)
}

#[async_trait]
impl CallSink for JsonLinesSink {
    /// Appends and fsyncs on tokio's blocking pool, so a slow disk does not stall the
    /// runtime's threads.
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        let (path, state) = (Arc::clone(&self.path), Arc::clone(&self.state));
        let id = call.pbx_call_id.clone();
        let line = serde_json::to_vec(call);
        let work = move || {
            let Ok(mut ids) = state.lock() else {
                return DeliveryOutcome::retry(FailureKind::Other, "sink state poisoned");
            };
            if ids.contains(&id) {
                return DeliveryOutcome::Duplicate;
            }
            let write = || -> std::io::Result<()> {
                let mut line = line.map_err(std::io::Error::other)?;
                line.push(b'\n');
                crate::append::append_line(&path, &line)
            };
            match write() {
                Ok(()) => {
                    ids.insert(id);
                    DeliveryOutcome::Delivered
                }
                Err(e) => DeliveryOutcome::retry(
                    FailureKind::Io,
                    format!("cannot write {}: {e}", path.display()),
                ),
            }
        };
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
            DeliveryOutcome::retry(FailureKind::Other, format!("the sink's writer failed: {e}"))
        })
    }
}
