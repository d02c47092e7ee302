//! In-memory implementations of the adapter traits, for tests and examples (the `testing`
//! feature, off by default): test doubles, not production adapters — a source over a list, sinks
//! that keep what they receive, directories over fixed values, a checkpoint store in a map.
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! pbx-core = { version = "0.1", features = ["testing"] }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::call::CallRequest;
use crate::error::Error;
use crate::extensions::ExtensionMap;
use crate::groups::{Alert, AlertId, AlertRequest, CallGroup, ResolveOutcome};
use crate::traits::{
    AlertSink, CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome,
    ExtensionDirectory, GroupDirectory, RawRecord, SourceRecord,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A source over a list of records; the checkpoint is the 1-based index of the last record.
///
/// ```
/// use pbx_core::{CdrSource, RawRecord, memory::MemorySource};
/// let mut src = MemorySource::new(vec![RawRecord::Line { number: 1, text: b"Call 1".to_vec() }]);
/// let batch = futures_executor::block_on(src.fetch(None, 10))?;
/// assert_eq!(batch.len(), 1);
/// assert_eq!(batch[0].checkpoint.as_str(), "1");
/// let rest = futures_executor::block_on(src.fetch(Some(&batch[0].checkpoint), 10))?;
/// assert!(rest.is_empty());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    records: Vec<RawRecord>,
}

impl MemorySource {
    /// A source holding `records`.
    pub fn new(records: Vec<RawRecord>) -> Self {
        MemorySource { records }
    }

    /// Appends a record (as if it had just arrived).
    pub fn push(&mut self, record: RawRecord) {
        self.records.push(record);
    }
}

#[async_trait]
impl CdrSource for MemorySource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let start = match after {
            None => 0,
            Some(cp) => cp
                .as_str()
                .parse::<usize>()
                .map_err(|_| Error::InvalidSetting {
                    setting: "checkpoint".into(),
                    value: cp.as_str().to_owned(),
                    reason: "a memory source's checkpoint is a record index".into(),
                })?,
        };
        Ok(self
            .records
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, r)| SourceRecord {
                checkpoint: Checkpoint::new((i + 1).to_string()),
                record: Ok(r.clone()),
            })
            .collect())
    }
}

/// A call sink that keeps what it receives. It answers [`DeliveryOutcome::Duplicate`] for a
/// `pbxCallId` it already holds (as the API's 409 does), and can be scripted to answer
/// other outcomes first ([`MemoryCallSink::script`]).
///
/// ```
/// use pbx_core::{CallSink, DeliveryOutcome, memory::MemoryCallSink};
/// # let call: pbx_core::call::CallRequest = serde_json::from_str(r#"{"phoneNumber":"1","callDuration":0,
/// #   "callOwnerExtension":"101","callOwnerEmail":"a@b","callDirection":"INBOUND",
/// #   "timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-1"}"#).unwrap();
/// let sink = MemoryCallSink::new();
/// sink.script(DeliveryOutcome::retry(pbx_core::FailureKind::Http5xx, "503"));
/// let deliver = |c| futures_executor::block_on(sink.deliver(c));
/// assert!(matches!(deliver(&call), DeliveryOutcome::Retry { .. }));
/// assert_eq!(deliver(&call), DeliveryOutcome::Delivered);
/// assert_eq!(deliver(&call), DeliveryOutcome::Duplicate);
/// assert_eq!(sink.delivered().len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct MemoryCallSink {
    state: Mutex<SinkState>,
}

#[derive(Debug, Default)]
struct SinkState {
    delivered: Vec<CallRequest>,
    ids: HashSet<String>,
    script: VecDeque<DeliveryOutcome>,
}

impl MemoryCallSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an outcome to answer to the next delivery instead of storing it.
    pub fn script(&self, outcome: DeliveryOutcome) {
        lock(&self.state).script.push_back(outcome);
    }

    /// The calls stored, in order.
    pub fn delivered(&self) -> Vec<CallRequest> {
        lock(&self.state).delivered.clone()
    }
}

#[async_trait]
impl CallSink for MemoryCallSink {
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        let mut s = lock(&self.state);
        if let Some(outcome) = s.script.pop_front() {
            return outcome;
        }
        if !s.ids.insert(call.pbx_call_id.clone()) {
            return DeliveryOutcome::Duplicate;
        }
        s.delivered.push(call.clone());
        DeliveryOutcome::Delivered
    }
}

/// An alert sink that keeps at most one active alert per group, as the backend does.
///
/// ```
/// use pbx_core::{AlertSink, memory::MemoryAlertSink, groups::{AlertRequest, AlertType}};
/// let sink = MemoryAlertSink::new();
/// let req = AlertRequest { call_group_id: "800".into(), call_group_name: "Support".into(),
///     alert_type: AlertType::NoAssignedUsers, alert_message: "nobody".into() };
/// let a = futures_executor::block_on(sink.open(&req))?;
/// let b = futures_executor::block_on(sink.open(&req))?;
/// assert_eq!(a.id, b.id);
/// assert_eq!(futures_executor::block_on(sink.resolve(&a.id))?, pbx_core::groups::ResolveOutcome::Resolved);
/// assert!(futures_executor::block_on(sink.active())?.is_empty());
/// sink.purge(&a.id); // as an operator deleting it: resolving it now finds nothing
/// assert_eq!(futures_executor::block_on(sink.resolve(&a.id))?, pbx_core::groups::ResolveOutcome::NotFound);
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryAlertSink {
    alerts: Mutex<Vec<Alert>>,
    /// Ids handed out (never reused, even after [`MemoryAlertSink::purge`]).
    issued: std::sync::atomic::AtomicU64,
}

impl MemoryAlertSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every alert ever opened, active or resolved.
    pub fn all(&self) -> Vec<Alert> {
        lock(&self.alerts).clone()
    }

    /// Deletes an alert, as a backend operator purging it would: a later resolve of `id`
    /// answers [`ResolveOutcome::NotFound`].
    pub fn purge(&self, id: &AlertId) {
        lock(&self.alerts).retain(|a| &a.id != id);
    }
}

#[async_trait]
impl AlertSink for MemoryAlertSink {
    type Error = Infallible;

    async fn open(&self, req: &AlertRequest) -> Result<Alert, Infallible> {
        let mut alerts = lock(&self.alerts);
        if let Some(a) = alerts
            .iter()
            .find(|a| a.is_active && a.call_group_id == req.call_group_id)
        {
            return Ok(a.clone());
        }
        let alert = Alert {
            id: AlertId(
                (self
                    .issued
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1)
                .to_string(),
            ),
            call_group_id: req.call_group_id.clone(),
            call_group_name: req.call_group_name.clone(),
            alert_type: req.alert_type.clone(),
            alert_message: req.alert_message.clone(),
            is_active: true,
            created_at: None,
            resolved_at: None,
        };
        alerts.push(alert.clone());
        Ok(alert)
    }

    async fn active(&self) -> Result<Vec<Alert>, Infallible> {
        Ok(lock(&self.alerts)
            .iter()
            .filter(|a| a.is_active)
            .cloned()
            .collect())
    }

    async fn resolve(&self, id: &AlertId) -> Result<ResolveOutcome, Infallible> {
        let mut found = false;
        for a in lock(&self.alerts).iter_mut().filter(|a| &a.id == id) {
            a.is_active = false;
            found = true;
        }
        Ok(if found {
            ResolveOutcome::Resolved
        } else {
            ResolveOutcome::NotFound
        })
    }
}

/// A group directory that always reports the same groups (replace them with
/// [`StaticGroupDirectory::set`]).
#[derive(Debug, Default)]
pub struct StaticGroupDirectory {
    groups: Mutex<Vec<CallGroup>>,
}

impl StaticGroupDirectory {
    /// A directory reporting `groups`.
    pub fn new(groups: Vec<CallGroup>) -> Self {
        StaticGroupDirectory {
            groups: Mutex::new(groups),
        }
    }

    /// Replaces the groups reported from now on.
    pub fn set(&self, groups: Vec<CallGroup>) {
        *lock(&self.groups) = groups;
    }
}

#[async_trait]
impl GroupDirectory for StaticGroupDirectory {
    type Error = Infallible;

    async fn groups(&self) -> Result<Vec<CallGroup>, Infallible> {
        Ok(lock(&self.groups).clone())
    }
}

/// An extension directory over a fixed map.
#[derive(Debug, Default)]
pub struct StaticExtensionDirectory {
    map: ExtensionMap,
}

impl StaticExtensionDirectory {
    /// A directory reporting `map`.
    pub fn new(map: ExtensionMap) -> Self {
        StaticExtensionDirectory { map }
    }
}

#[async_trait]
impl ExtensionDirectory for StaticExtensionDirectory {
    type Error = Infallible;

    async fn extensions(&self) -> Result<ExtensionMap, Infallible> {
        Ok(self.map.clone())
    }
}

/// A checkpoint store in memory (lost when the process ends).
///
/// ```
/// use pbx_core::{Checkpoint, CheckpointStore, memory::MemoryCheckpointStore};
/// let store = MemoryCheckpointStore::new();
/// futures_executor::block_on(store.save("cdr", &Checkpoint::new("7")))?;
/// assert_eq!(futures_executor::block_on(store.load("cdr"))?, Some(Checkpoint::new("7")));
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    saved: Mutex<HashMap<String, Checkpoint>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CheckpointStore for MemoryCheckpointStore {
    type Error = Infallible;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Infallible> {
        Ok(lock(&self.saved).get(key).cloned())
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Infallible> {
        lock(&self.saved).insert(key.to_owned(), checkpoint.clone());
        Ok(())
    }
}
