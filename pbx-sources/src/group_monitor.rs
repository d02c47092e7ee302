//! The call-group monitor loop: on its interval, read the groups, let pbx-core's
//! [`GroupMonitor`] decide, open and resolve alerts, and persist the monitor's state in a
//! checkpoint store, so a restart neither posts an alert again nor forgets an open one.
//!
//! The loop trusts the backend only as far as it can check it: an alert answered to a
//! `POST` is taken only when it is the group's own ([`AlertRequest::is_answered_by`]), and an
//! alert the backend no longer knows (resolve answered 404/410) is forgotten, so the group is
//! alerted again when it is unstaffed again. Its health — last success, last failure and why,
//! failures by reason, open alerts, each group's state, the business hours in use — is kept
//! in a [`GroupHealth`] for `/status` and `/metrics`.

use crate::MonitorError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pbx_core::groups::{
    AlertAction, AlertRequest, GroupMonitor, GroupState, MonitorState, ResolveOutcome,
};
use pbx_core::hours::BusinessHours;
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
    /// Alerts the backend no longer knew (a resolve answered 404/410): forgotten, so the
    /// group is alerted again when it is unstaffed again.
    pub forgotten: usize,
    /// What failed (retried on the next check), with why.
    pub failed: Vec<String>,
}

/// Why a check, or a step of one, failed: the `reason` of [`CheckFailure`] and of
/// `pbx_group_check_failures_total`.
///
/// ```
/// use pbx_sources::group_monitor::FailureReason;
/// assert_eq!(FailureReason::AlertMismatch.code(), "alert_mismatch");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureReason {
    /// The office hours could not be read again (the last good ones stay in use).
    OfficeHours,
    /// The groups could not be read (XAPI).
    Directory,
    /// The backend's active alerts could not be read.
    ActiveAlerts,
    /// An alert could not be posted.
    Open,
    /// The backend answered a post with an alert that is not the group's own (another
    /// group's, or another type): ignored, posted again next check.
    AlertMismatch,
    /// An alert could not be resolved.
    Resolve,
    /// The monitor's state could not be loaded or saved.
    State,
}

impl FailureReason {
    /// Every reason, in declaration order.
    pub const ALL: &'static [FailureReason] = &[
        Self::OfficeHours,
        Self::Directory,
        Self::ActiveAlerts,
        Self::Open,
        Self::AlertMismatch,
        Self::Resolve,
        Self::State,
    ];

    /// `office_hours`, `directory`, `active_alerts`, `open`, `alert_mismatch`, `resolve` or
    /// `state`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OfficeHours => "office_hours",
            Self::Directory => "directory",
            Self::ActiveAlerts => "active_alerts",
            Self::Open => "open",
            Self::AlertMismatch => "alert_mismatch",
            Self::Resolve => "resolve",
            Self::State => "state",
        }
    }
}

/// The last failure of the monitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckFailure {
    /// When (the check's `now`).
    pub at: DateTime<Utc>,
    /// Why, as a code ([`FailureReason::code`]).
    pub reason: &'static str,
    /// The error, for people.
    pub error: String,
}

/// Where the business hours in use come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScheduleSource {
    /// The configuration's `business_hours` (or hours given by the host).
    Config,
    /// XAPI `GET /OfficeHours` (office hours and holidays), read again every refresh.
    Xapi,
}

/// The business hours the monitor uses, and when they were read.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    /// The hours (not serialized: `/status` shows whether they are open now).
    #[serde(skip)]
    pub hours: BusinessHours,
    /// Where they come from.
    pub source: ScheduleSource,
    /// When they were last read (from XAPI), if they were.
    pub read_at: Option<DateTime<Utc>>,
    /// Why the last read failed, while the earlier hours stay in use.
    pub last_error: Option<String>,
}

/// The monitor's health, for `/status` and `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupHealth {
    /// The last check (also a failed one: then `failed` says why).
    #[serde(flatten)]
    pub last: CheckReport,
    /// Checks run.
    pub checks: u64,
    /// The end of the last check in which everything succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure, with its reason.
    pub last_failure: Option<CheckFailure>,
    /// Failures by reason code ([`FailureReason::code`]).
    pub failures: BTreeMap<&'static str, u64>,
    /// Groups with an alert open.
    pub open_alerts: usize,
    /// Each group's state: consecutive failing checks and the alert held open.
    pub states: BTreeMap<String, GroupState>,
}

/// Where the business hours are read again from (XAPI `GET /OfficeHours`).
#[async_trait]
pub trait HoursSource: Send + Sync {
    /// The business hours now.
    async fn business_hours(&self) -> Result<BusinessHours, Error>;
}

#[cfg(feature = "xapi")]
#[async_trait]
impl HoursSource for crate::xapi::XapiClient {
    async fn business_hours(&self) -> Result<BusinessHours, Error> {
        crate::xapi::XapiClient::business_hours(self).await
    }
}

struct HoursRefresh {
    source: Arc<dyn HoursSource>,
    every: Duration,
    next: Option<DateTime<Utc>>,
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
    health: Arc<Mutex<GroupHealth>>,
    schedule: Arc<Mutex<Schedule>>,
    hours: Option<HoursRefresh>,
    trigger: Arc<Notify>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The failures of one check.
#[derive(Default)]
struct Failures(Vec<(FailureReason, String)>);

impl Failures {
    fn add(&mut self, reason: FailureReason, error: String) {
        self.0.push((reason, error));
    }
}

impl<D: GroupDirectory, A: AlertSink, C: CheckpointStore> GroupLoop<D, A, C> {
    /// A loop over a directory, an alert sink and a store for its state; the monitor's
    /// hours count as configured ([`ScheduleSource::Config`]).
    pub fn new(directory: D, alerts: A, store: C, monitor: GroupMonitor) -> Self {
        let schedule = Schedule {
            hours: monitor.hours().clone(),
            source: ScheduleSource::Config,
            read_at: None,
            last_error: None,
        };
        GroupLoop {
            directory,
            alerts,
            store,
            monitor,
            state: None,
            health: Arc::default(),
            schedule: Arc::new(Mutex::new(schedule)),
            hours: None,
            trigger: Arc::new(Notify::new()),
        }
    }

    /// Reads the business hours from `source` again every `every` (before the check that
    /// falls due), e.g. XAPI office hours and holidays. `read_at` is when the monitor's
    /// current hours were read from it (`None`: read at the first check). A failed read keeps
    /// the hours in use, is a [`FailureReason::OfficeHours`] failure, and is tried again at
    /// the next check.
    #[must_use]
    pub fn with_hours_source(
        mut self,
        source: Arc<dyn HoursSource>,
        every: Duration,
        read_at: Option<DateTime<Utc>>,
    ) -> Self {
        let every = every.max(Duration::from_secs(1));
        let next = read_at.map(|t| t + chrono::Duration::from_std(every).unwrap_or_default());
        {
            let mut s = lock(&self.schedule);
            s.source = ScheduleSource::Xapi;
            s.read_at = read_at;
        }
        self.hours = Some(HoursRefresh {
            source,
            every,
            next,
        });
        self
    }

    /// The monitor's health, updated after every check (for `/status` and `/metrics`).
    pub fn health(&self) -> Arc<Mutex<GroupHealth>> {
        Arc::clone(&self.health)
    }

    /// The business hours in use and where they come from (for `/status`).
    pub fn schedule(&self) -> Arc<Mutex<Schedule>> {
        Arc::clone(&self.schedule)
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
            .map_err(|e| Error::Monitor(MonitorError::MonitorState { source: e.into() }))?;
        match saved {
            Some(cp) => serde_json::from_str(cp.as_str())
                .map_err(|e| Error::Monitor(MonitorError::MonitorState { source: e.into() })),
            None => {
                // First start (or lost state): take over what the backend has open.
                let mut state = MonitorState::default();
                let active =
                    self.alerts.active().await.map_err(|e| {
                        Error::Monitor(MonitorError::ActiveAlerts { source: e.into() })
                    })?;
                state.adopt_active(&active, now);
                Ok(state)
            }
        }
    }

    /// Reads the hours again when due; a failure keeps the hours in use.
    async fn refresh_hours(&mut self, now: DateTime<Utc>, failures: &mut Failures) {
        let Some(refresh) = &mut self.hours else {
            return;
        };
        if refresh.next.is_some_and(|t| now < t) {
            return;
        }
        match refresh.source.business_hours().await {
            Ok(hours) => {
                refresh.next =
                    Some(now + chrono::Duration::from_std(refresh.every).unwrap_or_default());
                self.monitor.set_hours(hours.clone());
                let mut s = lock(&self.schedule);
                s.hours = hours;
                s.read_at = Some(now);
                s.last_error = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the office hours again; keeping the hours in use");
                lock(&self.schedule).last_error = Some(e.to_string());
                failures.add(FailureReason::OfficeHours, e.to_string());
            }
        }
    }

    /// One check at `now`.
    ///
    /// # Errors
    /// [`MonitorError::GroupDirectory`], [`MonitorError::ActiveAlerts`],
    /// [`MonitorError::MonitorState`]; failed alert actions are not errors (they are retried next
    /// check and listed in the report). Every failure is also in [`GroupLoop::health`].
    pub async fn check(&mut self, now: DateTime<Utc>) -> Result<CheckReport, Error> {
        let mut failures = Failures::default();
        let mut report = CheckReport {
            at: Some(now),
            ..CheckReport::default()
        };
        let result = self.check_inner(now, &mut report, &mut failures).await;
        if let Err(e) = &result {
            let reason = match e {
                Error::Monitor(MonitorError::GroupDirectory { .. }) => FailureReason::Directory,
                Error::Monitor(MonitorError::ActiveAlerts { .. }) => FailureReason::ActiveAlerts,
                _ => FailureReason::State,
            };
            failures.add(reason, e.to_string());
        }
        report.failed = failures.0.iter().map(|(_, e)| e.clone()).collect();
        {
            let mut h = lock(&self.health);
            h.checks += 1;
            h.last = report.clone();
            if let Some(state) = &self.state {
                h.open_alerts = state.open_alerts();
                h.states = state.groups.clone();
            }
            for (reason, error) in &failures.0 {
                *h.failures.entry(reason.code()).or_default() += 1;
                h.last_failure = Some(CheckFailure {
                    at: now,
                    reason: reason.code(),
                    error: error.clone(),
                });
            }
            if failures.0.is_empty() {
                h.last_success = Some(now);
            }
        }
        result.map(|()| report)
    }

    async fn check_inner(
        &mut self,
        now: DateTime<Utc>,
        report: &mut CheckReport,
        failures: &mut Failures,
    ) -> Result<(), Error> {
        self.refresh_hours(now, failures).await;
        let mut state = self.load_state(now).await?;
        let groups = match self.directory.groups().await {
            Ok(g) => g,
            Err(e) => {
                self.state = Some(state);
                return Err(Error::Monitor(MonitorError::GroupDirectory {
                    source: e.into(),
                }));
            }
        };
        let actions = self.monitor.evaluate(now, &groups, &mut state);
        report.groups = groups.len();
        for action in actions {
            match action {
                AlertAction::Open(req) => self.open(&req, &mut state, report, failures).await,
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
                    let result = match &id {
                        Ok(Some(id)) => self.alerts.resolve(id).await.map_err(|e| e.to_string()),
                        // Nothing open at the backend: already resolved.
                        Ok(None) => Ok(ResolveOutcome::Resolved),
                        Err(e) => Err(e.to_string()),
                    };
                    match result {
                        Ok(ResolveOutcome::NotFound) => {
                            let id = id.ok().flatten().map(|i| i.0).unwrap_or_default();
                            tracing::warn!(
                                group = %group_id,
                                alert_id = %id,
                                "the backend does not know this alert (resolve answered 404/410); forgetting it: the group is alerted again when it is unstaffed again"
                            );
                            report.forgotten += 1;
                        }
                        Ok(_) => report.resolved += 1,
                        Err(e) => {
                            state.resolve_failed(&group_id, alert);
                            failures.add(
                                FailureReason::Resolve,
                                format!("resolve alert for {group_id}: {e}"),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        let saved = serde_json::to_string(&state)
            .map_err(|e| Error::Monitor(MonitorError::MonitorState { source: e.into() }))?;
        self.state = Some(state);
        self.store
            .save(STATE_KEY, &Checkpoint::new(saved))
            .await
            .map_err(|e| Error::Monitor(MonitorError::MonitorState { source: e.into() }))
    }

    async fn open(
        &self,
        req: &AlertRequest,
        state: &mut MonitorState,
        report: &mut CheckReport,
        failures: &mut Failures,
    ) {
        match self.alerts.open(req).await {
            Ok(alert) => {
                if state.record_opened(req, &alert) {
                    report.opened += 1;
                } else {
                    tracing::warn!(
                        group = %req.call_group_id,
                        alert_type = %req.alert_type,
                        answered_id = %alert.id,
                        answered_group = %alert.call_group_id,
                        answered_type = %alert.alert_type,
                        "the backend answered the alert post with another group's alert (or another type); ignored, never resolved; posting again next check"
                    );
                    failures.add(
                        FailureReason::AlertMismatch,
                        format!(
                            "open alert for {}: the backend answered alert {} of group {} ({}); ignored",
                            req.call_group_id, alert.id, alert.call_group_id, alert.alert_type
                        ),
                    );
                }
            }
            Err(e) => {
                state.open_failed(&req.call_group_id);
                failures.add(
                    FailureReason::Open,
                    format!("open alert for {}: {e}", req.call_group_id),
                );
            }
        }
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
