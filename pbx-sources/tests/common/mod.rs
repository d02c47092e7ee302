//! What pbx-sources' tests share beyond `pbx-testkit` (the recording HTTP server, scratch
//! directories): call requests, a recording retry sleeper, log capture, a pipeline with users.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pbx_core::call::{CallDirection, CallMapper, CallRequest};
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::User;
use pbx_core::memory::MemoryCallSink;
pub use pbx_testkit::http::{Reply, Request, Server};
pub use pbx_testkit::scratch;

/// A call request with this `pbxCallId`.
pub fn call(id: &str) -> CallRequest {
    CallRequest {
        phone_number: "9075551234".into(),
        call_duration: 300,
        call_owner_extension: "101".into(),
        call_owner_email: "john.doe@example.com".into(),
        call_direction: CallDirection::Inbound,
        timestamp: "2025-01-21T10:30:00.000-09:00".into(),
        pbx_call_id: id.into(),
    }
}

/// A sleeper that records each delay and returns at once.
#[cfg(feature = "http")]
#[derive(Clone, Default)]
pub struct RecordingSleeper(pub Arc<Mutex<Vec<Duration>>>);

#[cfg(feature = "http")]
impl RecordingSleeper {
    pub fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

#[cfg(feature = "http")]
impl pbx_sources::call_logger::Sleeper for RecordingSleeper {
    fn sleep(
        &self,
        delay: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(delay);
        Box::pin(async {})
    }
}

/// Everything logged (at every level) on this thread while the guard lives.
///
/// One global subscriber (installed once per test binary) writes each event to the buffer of
/// the thread that logged it, if that thread is capturing. A per-test `set_default` would race
/// with tracing's callsite interest cache when tests run in parallel: a log statement first
/// reached by a thread without a subscriber can be cached as "never", and a test that captures
/// later then sees nothing (seen under load).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(b) = c.borrow().as_ref() {
                b.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops the capture of this thread when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURING.with(|c| c.borrow_mut().take());
    }
}

impl Logs {
    pub fn capture() -> (Logs, CaptureGuard) {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
                .with_ansi(false)
                .with_writer(|| LogWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the tests");
        });
        let logs = Logs::default();
        CAPTURING.with(|c| *c.borrow_mut() = Some(logs.0.clone()));
        (logs, CaptureGuard(()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The `pbxCallId`s the sink received, in order.
pub fn ids(sink: &MemoryCallSink) -> Vec<String> {
    sink.delivered()
        .into_iter()
        .map(|c| c.pbx_call_id)
        .collect()
}

/// A pipeline whose mapper knows the extensions `exts`, each as `u<ext>@example.com`.
pub fn pipeline_for(exts: RangeInclusive<u32>) -> Pipeline {
    let users = exts.map(|e| User::new(e.to_string(), format!("u{e}@example.com")));
    Pipeline {
        mapper: CallMapper::default().with_extensions(users.collect()),
        ..Pipeline::default()
    }
}
