//! The call-logger API client (`reqwest` + rustls): delivers calls ([`pbx_core::CallSink`]),
//! opens, lists and resolves call-group alerts ([`pbx_core::AlertSink`]) and checks health.
//!
//! # Retries
//! [`CallLoggerClient::deliver`] retries transient failures itself — 5xx, 408, 429 (waiting
//! `Retry-After` when the server sends one), timeouts, refused or reset connections — with
//! exponential backoff and full jitter ([`RetryPolicy`]), and answers
//! [`DeliveryOutcome::Retry`] only when the attempts are used up (or the server asks for a
//! wait longer than [`RetryPolicy::max_retry_after`]), so the engine can back off further.
//! Every other answer is final at once: `200`/`201` (any 2xx) →
//! [`DeliveryOutcome::Delivered`], `409` → [`DeliveryOutcome::Duplicate`], `401`/`403` →
//! [`DeliveryOutcome::AuthFailed`] (logged at `error`), and any other 4xx (`400`, `413`,
//! `422`, …) → [`DeliveryOutcome::Rejected`] (the payload is refused: quarantine it). A `404`
//! and a 3xx (redirects are not followed) are not retried in-line and answer `Retry`: they
//! mean a wrong `base_url` far more often than a refused call, so no call is lost to a
//! misconfiguration — every call fails, and the delivery engine treats that as an outage (it
//! backs off and quarantines nothing).
//! Alerts use the same retries; their errors are [`Error`]s.

mod retry;

use crate::HttpError;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use pbx_core::call::CallRequest;
use pbx_core::groups::{Alert, AlertId, AlertRequest, ResolveOutcome};
use pbx_core::{AlertSink, CallSink, DeliveryOutcome, FailureKind};
use rand::rngs::StdRng;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use url::Url;

use crate::client::{self, join, quote_body};
use crate::{Error, Secret};

pub use retry::{RetryPolicy, Sleeper, TokioSleeper};

const SERVICE: &str = "call-logger API";

/// Settings of a [`CallLoggerClient`].
///
/// ```
/// use std::time::Duration;
/// use pbx_sources::{Secret, call_logger::CallLoggerConfig};
/// let mut cfg = CallLoggerConfig::new("https://calls.example.com");
/// cfg.token = Some(Secret::new("t0ken"));
/// cfg.timeout = Duration::from_secs(5);
/// assert_eq!(cfg.concurrency, 4);
/// assert!(!format!("{cfg:?}").contains("t0ken"));
/// ```
#[derive(Clone, Debug)]
pub struct CallLoggerConfig {
    /// Where the API is, e.g. `https://calls.example.com` (paths such as
    /// `/api/calls/from-pbx` are appended).
    pub base_url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<Secret>,
    /// Per request, connecting included (default 10 s).
    pub timeout: Duration,
    /// Calls in flight at once (`call_api.concurrency`; the delivery engine's in-flight budget;
    /// default 4, at least 1).
    pub concurrency: usize,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Accept any TLS certificate. Never in production; a warning is logged at start-up.
    pub danger_accept_invalid_certs: bool,
}

impl CallLoggerConfig {
    /// Defaults for the API at `base_url`.
    ///
    /// ```
    /// let cfg = pbx_sources::call_logger::CallLoggerConfig::new("http://localhost:8080");
    /// assert_eq!(cfg.timeout, std::time::Duration::from_secs(10));
    /// assert!(cfg.token.is_none() && !cfg.danger_accept_invalid_certs);
    /// ```
    pub fn new(base_url: impl Into<String>) -> Self {
        CallLoggerConfig {
            base_url: base_url.into(),
            token: None,
            timeout: Duration::from_secs(10),
            concurrency: 4,
            retry: RetryPolicy::default(),
            danger_accept_invalid_certs: false,
        }
    }
}

/// From the `call_api` section of pbx's configuration: base URL, token, timeout,
/// concurrency, TLS flag, and `max_attempts` as [`RetryPolicy::attempts`] (the other retry
/// settings keep their defaults).
///
/// ```
/// # fn run(config: &pbx_core::config::Config) -> Result<(), pbx_sources::Error> {
/// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
/// let client = CallLoggerClient::new(CallLoggerConfig::from(&config.call_api))?;
/// # Ok(()) }
/// ```
impl From<&pbx_core::config::CallApiConfig> for CallLoggerConfig {
    fn from(c: &pbx_core::config::CallApiConfig) -> Self {
        CallLoggerConfig {
            base_url: c.base_url.clone(),
            token: c.token.clone(),
            timeout: c.timeout,
            concurrency: c.concurrency,
            retry: RetryPolicy {
                attempts: c.max_attempts,
                max_retry_after: RetryPolicy::default()
                    .max_retry_after
                    .min(c.max_retry_after),
                ..RetryPolicy::default()
            },
            danger_accept_invalid_certs: c.insecure_skip_tls_verify,
        }
    }
}

/// The call-logger API client. Cheap to share behind an `Arc`; holds one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), pbx_sources::Error> {
/// use pbx_core::{CallSink, DeliveryOutcome};
/// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
/// # let call: pbx_core::call::CallRequest = serde_json::from_str(r#"{"phoneNumber":"1","callDuration":0,
/// #   "callOwnerExtension":"101","callOwnerEmail":"a@b","callDirection":"INBOUND",
/// #   "timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-1"}"#).unwrap();
/// let client = CallLoggerClient::new(CallLoggerConfig::new("http://localhost:8080"))?;
/// client.health().await?;
/// match client.deliver(&call).await {
///     DeliveryOutcome::Delivered | DeliveryOutcome::Duplicate => {}
///     other => eprintln!("not delivered: {other:?}"),
/// }
/// # Ok(()) }
/// ```
pub struct CallLoggerClient {
    http: reqwest::Client,
    base: Url,
    /// `POST /api/calls/from-pbx`, joined once (not per call: the hot path).
    calls_url: Url,
    token: Option<Secret>,
    auth: Option<HeaderValue>,
    concurrency: usize,
    retry: RetryPolicy,
    rng: Mutex<StdRng>,
    sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for CallLoggerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLoggerClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One answer: status, headers, and the body (or why it could not be read).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Result<Vec<u8>, String>,
}

/// One attempt's verdict.
enum Step<T> {
    /// Final: no further attempt.
    Done(T),
    /// Transient: may be tried again.
    Again {
        /// What kind of failure (for `/metrics`).
        kind: FailureKind,
        /// What happened, for logs and the final outcome.
        reason: String,
        /// `Retry-After`, if the server sent it.
        after: Option<Duration>,
        /// The HTTP status and the quoted body, if there was an answer.
        status: Option<(u16, String)>,
    },
}

/// The failure kind of a transient or unexpected HTTP status.
fn status_kind(status: StatusCode) -> FailureKind {
    if status == StatusCode::TOO_MANY_REQUESTS {
        FailureKind::Http429
    } else if status.is_server_error() {
        FailureKind::Http5xx
    } else {
        FailureKind::HttpOther
    }
}

/// The failure kind of a request that got no answer.
fn transport_kind(e: &reqwest::Error) -> FailureKind {
    if e.is_timeout() {
        FailureKind::Timeout
    } else {
        FailureKind::Connection
    }
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

impl CallLoggerClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable base URL (not http/https, credentials in it),
    /// a token that cannot go in a header, or zero concurrency / attempts;
    /// [`HttpError::Client`] when TLS cannot be set up.
    ///
    /// ```
    /// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
    /// assert!(CallLoggerClient::new(CallLoggerConfig::new("not a url")).is_err());
    /// let client = CallLoggerClient::new(CallLoggerConfig::new("http://127.0.0.1:8080"))?;
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn new(config: CallLoggerConfig) -> Result<Self, Error> {
        let base = client::base_url("base_url", &config.base_url)?;
        if config.concurrency == 0 {
            return Err(Error::Config {
                setting: "concurrency",
                value: "0".into(),
                reason: "at least one call must be in flight".into(),
            });
        }
        if config.retry.attempts == 0 {
            return Err(Error::Config {
                setting: "retry.attempts",
                value: "0".into(),
                reason: "at least one attempt is needed".into(),
            });
        }
        let auth =
            match &config.token {
                None => None,
                Some(token) => {
                    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                        .map_err(|_| Error::Config {
                            setting: "token",
                            value: "***".into(),
                            reason: "holds characters that cannot go in an HTTP header".into(),
                        })?;
                    v.set_sensitive(true);
                    Some(v)
                }
            };
        let http = client::build(SERVICE, config.timeout, config.danger_accept_invalid_certs)?;
        Ok(CallLoggerClient {
            http,
            calls_url: join(&base, &["api", "calls", "from-pbx"]),
            base,
            token: config.token,
            auth,
            concurrency: config.concurrency,
            rng: Mutex::new(config.retry.rng()),
            retry: config.retry,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// Replaces what waits between attempts (tests pass one that does not wait).
    ///
    /// ```
    /// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig, TokioSleeper};
    /// let client = CallLoggerClient::new(CallLoggerConfig::new("http://127.0.0.1:8080"))?
    ///     .with_sleeper(TokioSleeper);
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn with_sleeper(mut self, sleeper: impl Sleeper) -> Self {
        self.sleeper = Arc::new(sleeper);
        self
    }

    fn scrub(&self, text: &str) -> String {
        match &self.token {
            Some(t) => client::scrub(t, text),
            None => text.to_owned(),
        }
    }

    fn quote(&self, body: &Result<Vec<u8>, String>) -> String {
        match body {
            Ok(b) => quote_body(b, |s| self.scrub(s)),
            Err(e) => format!("(body unreadable: {e})"),
        }
    }

    /// Sends one request; `Err` is a transport failure in words.
    async fn send(&self, request: RequestBuilder) -> Result<Answer, (FailureKind, String)> {
        let request = match &self.auth {
            Some(v) => request.header(AUTHORIZATION, v.clone()),
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| (transport_kind(&e), self.scrub(&crate::error::describe(&e))))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = client::read_body(response, client::CALL_API_BODY_LIMIT)
            .await
            .map_err(|e| self.scrub(&e));
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Runs `once` until it is final or the attempts are used up, waiting between attempts.
    /// Returns the last verdict and the number of attempts made.
    async fn retrying<T, F, Fut>(&self, op: &str, mut once: F) -> (Step<T>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Step<T>>,
    {
        let attempts = self.retry.attempts.max(1);
        let mut n = 0;
        loop {
            n += 1;
            let (kind, reason, after, status) = match once().await {
                Step::Done(t) => return (Step::Done(t), n),
                Step::Again {
                    kind,
                    reason,
                    after,
                    status,
                } => (kind, reason, after, status),
            };
            let too_long = after.is_some_and(|a| a > self.retry.max_retry_after);
            if n >= attempts || too_long {
                return (
                    Step::Again {
                        kind,
                        reason,
                        after,
                        status,
                    },
                    n,
                );
            }
            let delay = match after {
                Some(a) => a,
                None => {
                    let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
                    self.retry.jittered(n - 1, &mut rng)
                }
            };
            tracing::warn!(
                op,
                attempt = n,
                attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason = %reason,
                "transient failure; retrying"
            );
            self.sleeper.sleep(delay).await;
        }
    }

    /// Sends with retries of transient failures; the answer is one with a final status and a
    /// readable body.
    async fn request(&self, op: &str, make: impl Fn() -> RequestBuilder) -> Result<Answer, Error> {
        let (step, attempts) = self
            .retrying(op, || async {
                match self.send(make()).await {
                    Err((kind, reason)) => Step::Again {
                        kind,
                        reason,
                        after: None,
                        status: None,
                    },
                    Ok(a) if is_transient(a.status) => {
                        let body = self.quote(&a.body);
                        Step::Again {
                            kind: status_kind(a.status),
                            reason: format!("HTTP {}: {body}", a.status.as_u16()),
                            after: retry::retry_after(&a.headers),
                            status: Some((a.status.as_u16(), body)),
                        }
                    }
                    Ok(Answer {
                        body: Err(reason), ..
                    }) => Step::Again {
                        kind: FailureKind::Connection,
                        reason,
                        after: None,
                        status: None,
                    },
                    Ok(a) => Step::Done(a),
                }
            })
            .await;
        match step {
            Step::Done(a) => match a.status.as_u16() {
                401 | 403 => {
                    tracing::error!(
                        op,
                        status = a.status.as_u16(),
                        "call-logger API refused the credentials"
                    );
                    Err(Error::Http(HttpError::Auth {
                        op: op.to_owned(),
                        status: a.status.as_u16(),
                        hint: "check the call-logger API bearer token",
                    }))
                }
                _ => Ok(a),
            },
            Step::Again {
                status: Some((status, body)),
                ..
            } => Err(Error::Http(HttpError::Status {
                op: op.to_owned(),
                status,
                body,
            })),
            Step::Again { reason, .. } => Err(Error::Http(HttpError::Transport {
                op: op.to_owned(),
                attempts,
                reason,
            })),
        }
    }

    fn unexpected(&self, op: &str, a: &Answer) -> Error {
        Error::Http(HttpError::Status {
            op: op.to_owned(),
            status: a.status.as_u16(),
            body: self.quote(&a.body),
        })
    }

    /// What one answer to `POST /api/calls/from-pbx` means.
    fn call_step(&self, answer: Result<Answer, (FailureKind, String)>) -> Step<DeliveryOutcome> {
        let a = match answer {
            Ok(a) => a,
            Err((kind, reason)) => {
                return Step::Again {
                    kind,
                    reason,
                    after: None,
                    status: None,
                };
            }
        };
        let status = a.status.as_u16();
        match status {
            // The backend decided once the status line arrived; a body cut short after it
            // changes nothing (a retry would only meet 409).
            200..=299 => Step::Done(DeliveryOutcome::Delivered),
            409 => Step::Done(DeliveryOutcome::Duplicate),
            401 | 403 => Step::Done(DeliveryOutcome::AuthFailed { status }),
            // A refusal of this payload; 404 (a wrong base URL), 408 and 429 (transient) are not.
            400..=499 if !matches!(status, 404 | 408 | 429) => {
                Step::Done(DeliveryOutcome::Rejected {
                    status,
                    body: self.quote(&a.body),
                })
            }
            _ if is_transient(a.status) => {
                let body = self.quote(&a.body);
                Step::Again {
                    kind: status_kind(a.status),
                    reason: format!("HTTP {status}: {body}"),
                    after: retry::retry_after(&a.headers),
                    status: Some((status, body)),
                }
            }
            _ => Step::Done(DeliveryOutcome::Retry {
                kind: FailureKind::HttpOther,
                reason: format!(
                    "unexpected HTTP {status} (check base_url): {}",
                    self.quote(&a.body)
                ),
                after: None,
            }),
        }
    }

    /// Delivers one call (`POST /api/calls/from-pbx`), retrying transient failures as the
    /// [`RetryPolicy`] says. Never fails: every failure is an outcome (see the module docs).
    ///
    /// ```no_run
    /// # async fn run(call: pbx_core::call::CallRequest) -> Result<(), pbx_sources::Error> {
    /// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
    /// let client = CallLoggerClient::new(CallLoggerConfig::new("http://localhost:8080"))?;
    /// let outcome = client.deliver(&call).await;
    /// if outcome.is_final() { /* advance the checkpoint */ }
    /// # Ok(()) }
    /// ```
    pub async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        const OP: &str = "POST /api/calls/from-pbx";
        let (step, attempts) = self
            .retrying(OP, || async {
                let answer = self
                    .send(self.http.post(self.calls_url.clone()).json(call))
                    .await;
                self.call_step(answer)
            })
            .await;
        let outcome = match step {
            Step::Done(outcome) => outcome,
            Step::Again {
                kind,
                reason,
                after,
                ..
            } => DeliveryOutcome::Retry {
                kind,
                reason: format!("{reason} (after {attempts} attempt(s))"),
                after,
            },
        };
        let id = call.pbx_call_id.as_str();
        match &outcome {
            DeliveryOutcome::Delivered => {
                tracing::debug!(pbx_call_id = id, attempts, "call delivered")
            }
            DeliveryOutcome::Duplicate => {
                tracing::debug!(pbx_call_id = id, attempts, "call already delivered (409)")
            }
            DeliveryOutcome::Rejected { status, body } => {
                tracing::warn!(pbx_call_id = id, status, body = %body, "call rejected; not retried")
            }
            DeliveryOutcome::AuthFailed { status } => tracing::error!(
                pbx_call_id = id,
                status,
                "call-logger API refused the credentials; check the bearer token. Delivery stops."
            ),
            DeliveryOutcome::Retry { reason, .. } => {
                tracing::warn!(pbx_call_id = id, attempts, reason = %reason, "call not delivered yet")
            }
            _ => {}
        }
        outcome
    }

    /// `GET /api/health`: the backend's status JSON (a JSON string if the body is not JSON).
    /// One attempt, no retries.
    ///
    /// # Errors
    /// [`HttpError::Transport`] without a response, [`HttpError::Auth`] for 401/403,
    /// [`HttpError::Status`] for any other non-2xx.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), pbx_sources::Error> {
    /// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
    /// let client = CallLoggerClient::new(CallLoggerConfig::new("http://localhost:8080"))?;
    /// println!("{}", client.health().await?);
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<serde_json::Value, Error> {
        const OP: &str = "GET /api/health";
        let url = join(&self.base, &["api", "health"]);
        let a = self.send(self.http.get(url)).await.map_err(|(_, reason)| {
            Error::Http(HttpError::Transport {
                op: OP.to_owned(),
                attempts: 1,
                reason,
            })
        })?;
        match a.status.as_u16() {
            200..=299 => {
                let body = a.body.map_err(|reason| {
                    Error::Http(HttpError::Transport {
                        op: OP.to_owned(),
                        attempts: 1,
                        reason,
                    })
                })?;
                Ok(serde_json::from_slice(&body).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
                }))
            }
            status @ (401 | 403) => Err(Error::Http(HttpError::Auth {
                op: OP.to_owned(),
                status,
                hint: "check the call-logger API bearer token",
            })),
            _ => Err(self.unexpected(OP, &a)),
        }
    }

    /// `GET /api/alerts/call-groups?active=true`.
    async fn active_alerts(&self) -> Result<Vec<Alert>, Error> {
        const OP: &str = "GET /api/alerts/call-groups?active=true";
        let mut url = join(&self.base, &["api", "alerts", "call-groups"]);
        url.query_pairs_mut().append_pair("active", "true");
        let a = self.request(OP, || self.http.get(url.clone())).await?;
        if !a.status.is_success() {
            return Err(self.unexpected(OP, &a));
        }
        let body = a.body.unwrap_or_default();
        let alerts: Vec<Alert> = client::decode(OP, "Alert", &body)?;
        Ok(alerts.into_iter().filter(|a| a.is_active).collect())
    }
}

#[async_trait]
impl CallSink for CallLoggerClient {
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        CallLoggerClient::deliver(self, call).await
    }
}

/// Call-group alerts over `/api/alerts/call-groups`.
///
/// ```no_run
/// # async fn run() -> Result<(), pbx_sources::Error> {
/// use pbx_core::AlertSink;
/// use pbx_core::groups::{AlertRequest, AlertType};
/// use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig};
/// let client = CallLoggerClient::new(CallLoggerConfig::new("http://localhost:8080"))?;
/// let alert = client.open(&AlertRequest { call_group_id: "100".into(),
///     call_group_name: "Support Team".into(), alert_type: AlertType::NoAssignedUsers,
///     alert_message: "Support Team has no assigned users during business hours".into() }).await?;
/// client.resolve(&alert.id).await?; // Resolved, or NotFound when the backend purged it
/// # Ok(()) }
/// ```
#[async_trait]
impl AlertSink for CallLoggerClient {
    type Error = Error;

    /// `POST /api/alerts/call-groups`. The backend keeps one active alert per group and may
    /// answer a duplicate with the existing alert (2xx, or 409 with the alert or without it —
    /// then the group's active alert is looked up): all of these return that alert.
    async fn open(&self, alert: &AlertRequest) -> Result<Alert, Error> {
        const OP: &str = "POST /api/alerts/call-groups";
        let url = join(&self.base, &["api", "alerts", "call-groups"]);
        let a = self
            .request(OP, || self.http.post(url.clone()).json(alert))
            .await?;
        let body = a.body.as_deref().unwrap_or_default();
        match a.status.as_u16() {
            200..=299 => client::decode(OP, "Alert", body),
            409 => {
                if let Ok(existing) = client::decode::<Alert>(OP, "Alert", body) {
                    return Ok(existing);
                }
                self.active_alerts()
                    .await?
                    .into_iter()
                    .find(|a| a.call_group_id == alert.call_group_id)
                    .ok_or_else(|| self.unexpected(OP, &a))
            }
            _ => Err(self.unexpected(OP, &a)),
        }
    }

    /// `GET /api/alerts/call-groups?active=true` (inactive ones are dropped if sent).
    async fn active(&self) -> Result<Vec<Alert>, Error> {
        self.active_alerts().await
    }

    /// `PUT /api/alerts/call-groups/{id}/resolve`: any 2xx is
    /// [`ResolveOutcome::Resolved`]; `404` and `410` are [`ResolveOutcome::NotFound`] (the
    /// backend does not know the alert: purged by an operator, or never its id).
    async fn resolve(&self, id: &AlertId) -> Result<ResolveOutcome, Error> {
        let op = format!("PUT /api/alerts/call-groups/{id}/resolve");
        let url = join(
            &self.base,
            &["api", "alerts", "call-groups", &id.0, "resolve"],
        );
        let a = self.request(&op, || self.http.put(url.clone())).await?;
        match a.status.as_u16() {
            200..=299 => Ok(ResolveOutcome::Resolved),
            404 | 410 => Ok(ResolveOutcome::NotFound),
            _ => Err(self.unexpected(&op, &a)),
        }
    }
}
