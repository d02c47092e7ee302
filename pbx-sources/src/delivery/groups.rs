//! The call-group monitor loop: on its interval, read the groups, let pbx-core's
//! [`GroupMonitor`] decide, open and resolve alerts, and persist the monitor's state in a
//! checkpoint store, so a restart neither posts an alert again nor forgets an open one.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::groups::{AlertAction, GroupMonitor, MonitorState};
use pbx_core::{AlertSink, Checkpoint, CheckpointStore, GroupDirectory};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::Error;

/// What one check did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// When the check ran (its `now`).
    pub at: Option<DateTime<Utc>>,
    /// Groups read.
    pub groups: usize,
    /// Alerts opened.
    pub opened: usize,
    /// Alerts resolved.
    pub resolved: usize,
    /// Actions that failed (retried on the next check), with why.
    pub failed: Vec<String>,
}

/// The loop's state key in the checkpoint store.
pub const STATE_KEY: &str = "group-monitor";

/// Drives a [`GroupMonitor`].
pub struct GroupLoop<D, A, C> {
    directory: D,
    alerts: A,
    store: C,
    monitor: GroupMonitor,
    state: Option<MonitorState>,
    last: Arc<Mutex<Option<CheckReport>>>,
    trigger: Arc<Notify>,
}

impl<D: GroupDirectory, A: AlertSink, C: CheckpointStore> GroupLoop<D, A, C> {
    /// A loop over a directory, an alert sink and a store for its state.
    pub fn new(directory: D, alerts: A, store: C, monitor: GroupMonitor) -> Self {
        GroupLoop {
            directory,
            alerts,
            store,
            monitor,
            state: None,
            last: Arc::default(),
            trigger: Arc::new(Notify::new()),
        }
    }

    /// The last check's report (for `/status`).
    pub fn last_report(&self) -> Arc<Mutex<Option<CheckReport>>> {
        Arc::clone(&self.last)
    }

    /// A handle that runs a check now (`POST /trigger/alerts`).
    pub fn trigger(&self) -> Arc<Notify> {
        Arc::clone(&self.trigger)
    }

    async fn load_state(&mut self, now: DateTime<Utc>) -> Result<MonitorState, Error> {
        if let Some(s) = self.state.take() {
            return Ok(s);
        }
        let saved = self
            .store
            .load(STATE_KEY)
            .await
            .map_err(|e| Error::MonitorState { source: e.into() })?;
        match saved {
            Some(cp) => serde_json::from_str(cp.as_str())
                .map_err(|e| Error::MonitorState { source: e.into() }),
            None => {
                // First start (or lost state): take over what the backend has open.
                let mut state = MonitorState::default();
                let active = self
                    .alerts
                    .active()
                    .await
                    .map_err(|e| Error::ActiveAlerts { source: e.into() })?;
                state.adopt_active(&active, now);
                Ok(state)
            }
        }
    }

    /// One check at `now`.
    ///
    /// # Errors
    /// [`Error::GroupDirectory`], [`Error::ActiveAlerts`], [`Error::MonitorState`]; failed alert actions are not errors (they are retried next check and
    /// listed in the report).
    pub async fn check(&mut self, now: DateTime<Utc>) -> Result<CheckReport, Error> {
        let mut state = self.load_state(now).await?;
        let groups = match self.directory.groups().await {
            Ok(g) => g,
            Err(e) => {
                self.state = Some(state);
                return Err(Error::GroupDirectory { source: e.into() });
            }
        };
        let actions = self.monitor.evaluate(now, &groups, &mut state);
        let mut report = CheckReport {
            at: Some(now),
            groups: groups.len(),
            ..CheckReport::default()
        };
        for action in actions {
            match action {
                AlertAction::Open(req) => match self.alerts.open(&req).await {
                    Ok(alert) => {
                        state.record_alert_id(&req.call_group_id, alert.id);
                        report.opened += 1;
                    }
                    Err(e) => {
                        state.open_failed(&req.call_group_id);
                        report
                            .failed
                            .push(format!("open alert for {}: {e}", req.call_group_id));
                    }
                },
                AlertAction::Resolve {
                    group_id, alert, ..
                } => {
                    let id = match alert.alert_id.clone() {
                        Some(id) => Ok(Some(id)),
                        None => self.alerts.active().await.map(|list| {
                            list.into_iter()
                                .find(|a| a.is_active && a.call_group_id == group_id)
                                .map(|a| a.id)
                        }),
                    };
                    let result = match id {
                        Ok(Some(id)) => self.alerts.resolve(&id).await.map_err(|e| e.to_string()),
                        Ok(None) => Ok(()), // nothing open at the backend: already resolved
                        Err(e) => Err(e.to_string()),
                    };
                    match result {
                        Ok(()) => report.resolved += 1,
                        Err(e) => {
                            state.resolve_failed(&group_id, alert);
                            report
                                .failed
                                .push(format!("resolve alert for {group_id}: {e}"));
                        }
                    }
                }
                _ => {}
            }
        }
        let saved =
            serde_json::to_string(&state).map_err(|e| Error::MonitorState { source: e.into() })?;
        self.state = Some(state);
        self.store
            .save(STATE_KEY, &Checkpoint::new(saved))
            .await
            .map_err(|e| Error::MonitorState { source: e.into() })?;
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(report.clone());
        Ok(report)
    }

    /// Checks every `interval` (or when triggered) until `shutdown` turns true.
    pub async fn run(
        &mut self,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
        clock: impl Fn() -> DateTime<Utc>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.check(clock()).await {
                tracing::warn!(error = %e, "call-group check failed; trying again next interval");
            }
            let trigger = Arc::clone(&self.trigger);
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = trigger.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
