//! A call sink that appends call requests to a JSON-lines file: a dry run, a demo, or a hand
//! over to another system. Like the API, it answers `Duplicate` for a `pbxCallId` the file
//! already holds, so re-sent calls are never written twice.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pbx_core::call::CallRequest;
use pbx_core::{CallSink, DeliveryOutcome};

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
    /// A last line without its line end — written only in part when the process died — is
    /// cut off (and logged), as the socket journal does: its call was never acknowledged, so
    /// it is sent again.
    ///
    /// # Errors
    /// When the file exists but cannot be read or cut, or a complete line is not a call
    /// request.
    pub fn open(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let mut ids = HashSet::new();
        match std::fs::read(&path) {
            Ok(mut bytes) => {
                let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                if complete < bytes.len() {
                    let torn = bytes.len() - complete;
                    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
                    file.set_len(complete as u64)?;
                    file.sync_all()?;
                    tracing::warn!(
                        path = %path.display(),
                        bytes = torn,
                        "cut a partly written last line from the call file (the process stopped mid-write); its call will be written again"
                    );
                    bytes.truncate(complete);
                }
                for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let call: CallRequest = serde_json::from_slice(line).map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "{} line {} is not a call request ({e}); fix or move the file",
                                path.display(),
                                i + 1
                            ),
                        )
                    })?;
                    ids.insert(call.pbx_call_id);
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
                return DeliveryOutcome::Retry {
                    reason: "sink state poisoned".into(),
                    after: None,
                };
            };
            if ids.contains(&id) {
                return DeliveryOutcome::Duplicate;
            }
            let write = || -> std::io::Result<()> {
                let mut line = line.map_err(std::io::Error::other)?;
                line.push(b'\n');
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&*path)?;
                f.write_all(&line)?;
                f.sync_data()
            };
            match write() {
                Ok(()) => {
                    ids.insert(id);
                    DeliveryOutcome::Delivered
                }
                Err(e) => DeliveryOutcome::Retry {
                    reason: format!("cannot write {}: {e}", path.display()),
                    after: None,
                },
            }
        };
        tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| DeliveryOutcome::Retry {
                reason: format!("the sink's writer failed: {e}"),
                after: None,
            })
    }
}
