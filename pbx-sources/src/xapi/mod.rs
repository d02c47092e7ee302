//! The 3CX XAPI client (v20 configuration REST API, OData, `reqwest` + rustls).
//!
//! It gets a client-credentials token from `POST {base}/connect/token`, caches it, replaces it
//! before it expires and once when the API answers 401, and reads `{base}/xapi/v1`: `/Users` (the
//! extension directory, [`XapiExtensionDirectory`]), `/RingGroups` and `/Queues` joined with the
//! users' availability ([`XapiGroupDirectory`]), `/OfficeHours` ([`OfficeHours`] →
//! [`BusinessHours`]) and `/CDRSettings` (→ [`pbx_core::cdr::FieldTemplate`]). Collections are read
//! page by page with `$top` / `$skip`, ordered by `Id`.
//!
//! Reads are not retried in-line: XAPI is read on timers, and an error that
//! [`Error::is_transient`] says may pass is met again at the next tick (the extension
//! directory keeps its last good map meanwhile).
//!
//! 3CX keeps one active token per API client: give each process its own client id, and share
//! one [`XapiClient`] (in an `Arc`) between the directories of a process.

mod directory;
mod model;
mod query;
mod token;

use crate::HttpError;
use std::collections::BTreeMap;
use std::time::Duration;

use pbx_core::cdr::FieldTemplate;
use pbx_core::extensions::ExtensionMap;
use pbx_core::hours::BusinessHours;
use pbx_core::hours::xapi::OfficeHours;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::client::{self, join, quote_body};
use crate::{Error, Secret};

pub use directory::{
    AvailabilityPolicy, XapiExtensionDirectory, XapiGroupDirectory, call_groups, extension_map,
};
pub use model::{
    CdrSettings, CdrSettingsField, Queue, QueueAgent, QueueStatus, RingGroup, RingGroupMember,
    RingStrategy, XapiUser,
};
pub use query::{Query, odata_string};

use model::Collection;
use token::{CachedToken, OAuthErrorBody, TokenResponse, refresh_after};

const SERVICE: &str = "3CX XAPI";
const TOKEN_OP: &str = "POST /connect/token";
/// Paging stops with an error after this many pages (a server that ignores `$skip`).
const MAX_PAGES: u64 = 10_000;
/// The default [`XapiConfig::max_entities`].
pub const DEFAULT_MAX_ENTITIES: usize = 20_000;
/// The `/Users` properties pbx reads.
const USER_FIELDS: [&str; 9] = [
    "Id",
    "Number",
    "FirstName",
    "LastName",
    "DisplayName",
    "EmailAddress",
    "QueueStatus",
    "CurrentProfileName",
    "IsRegistered",
];

/// Settings of an [`XapiClient`].
///
/// ```
/// use pbx_sources::{Secret, xapi::XapiConfig};
/// let cfg = XapiConfig::new("https://pbx.example.com", "pbx-sync", Secret::new("s3cr3t"));
/// assert_eq!(cfg.page_size, 100);
/// assert_eq!(cfg.max_entities, 20_000);
/// assert!(!format!("{cfg:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Debug)]
pub struct XapiConfig {
    /// The PBX's address, e.g. `https://pbx.example.com` (the API is at `/xapi/v1`, the token
    /// endpoint at `/connect/token`).
    pub base_url: String,
    /// The API client's id (3CX Admin → Integrations → API).
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// Per request, connecting included (default 15 s).
    pub timeout: Duration,
    /// `$top` of each page (default 100, at least 1).
    pub page_size: u64,
    /// The most entities one collection read may hold, over all its pages (default
    /// [`DEFAULT_MAX_ENTITIES`], 20 000): more is [`HttpError::Paging`], so a PBX (or a server
    /// that ignores `$top`) cannot make the process hold an unbounded user list.
    pub max_entities: usize,
    /// Accept any TLS certificate. Never in production; a warning is logged at start-up.
    pub danger_accept_invalid_certs: bool,
}

impl XapiConfig {
    /// Defaults for the PBX at `base_url` with these credentials.
    ///
    /// ```
    /// use pbx_sources::{Secret, xapi::XapiConfig};
    /// let cfg = XapiConfig::new("https://pbx.example.com", "pbx-sync", Secret::new("s3cr3t"));
    /// assert_eq!(cfg.timeout, std::time::Duration::from_secs(15));
    /// ```
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        XapiConfig {
            base_url: base_url.into(),
            client_id: client_id.into(),
            client_secret,
            timeout: Duration::from_secs(15),
            page_size: 100,
            max_entities: DEFAULT_MAX_ENTITIES,
            danger_accept_invalid_certs: false,
        }
    }
}

/// From the `xapi` section of pbx's configuration: base URL, client id and secret, TLS flag
/// (timeout and page size keep their defaults; `refresh` is the directories' business:
/// [`XapiExtensionDirectory::new`]).
///
/// ```
/// # fn run(config: &pbx_core::config::Config) -> Result<(), pbx_sources::Error> {
/// use pbx_sources::xapi::{XapiClient, XapiConfig};
/// if let Some(x) = &config.xapi {
///     let client = XapiClient::new(XapiConfig::from(x))?;
/// }
/// # Ok(()) }
/// ```
impl From<&pbx_core::config::XapiConfig> for XapiConfig {
    fn from(c: &pbx_core::config::XapiConfig) -> Self {
        XapiConfig {
            danger_accept_invalid_certs: c.insecure_skip_tls_verify,
            ..XapiConfig::new(
                c.base_url.clone(),
                c.client_id.clone(),
                c.client_secret.clone(),
            )
        }
    }
}

/// The XAPI client: token handling, OData requests, paging, and the entities pbx reads.
///
/// ```no_run
/// # async fn run() -> Result<(), pbx_sources::Error> {
/// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig}};
/// let xapi = XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx-sync",
///     Secret::new(std::env::var("XAPI_SECRET").unwrap_or_default())))?;
/// let template = xapi.cdr_template().await?;
/// let users = xapi.users().await?;
/// println!("{} CDR fields, {} users", template.len(), users.len());
/// # Ok(()) }
/// ```
pub struct XapiClient {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    secret: Secret,
    page_size: u64,
    max_entities: usize,
    token: Mutex<TokenSlot>,
    /// Requests by outcome (`ok`, or the error's [`Error::kind`]).
    requests: std::sync::Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Default)]
struct TokenSlot {
    current: Option<CachedToken>,
    issued: u64,
}

impl std::fmt::Debug for XapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XapiClient")
            .field("base", &self.base.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.secret)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl XapiClient {
    /// A client for `config`. Sends nothing yet.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable base URL, an empty client id or secret, or a zero
    /// page size; [`HttpError::Client`] when TLS cannot be set up.
    ///
    /// ```
    /// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig}};
    /// let bad = XapiConfig::new("https://pbx.example.com", "", Secret::new("s3cr3t"));
    /// assert!(XapiClient::new(bad).is_err());
    /// ```
    pub fn new(config: XapiConfig) -> Result<Self, Error> {
        let base = client::base_url("xapi.base_url", &config.base_url)?;
        if config.client_id.trim().is_empty() {
            return Err(Error::Config {
                setting: "xapi.client_id",
                value: String::new(),
                reason: "the API client's id is required (3CX Admin → Integrations → API)".into(),
            });
        }
        if config.client_secret.is_empty() {
            return Err(Error::Config {
                setting: "xapi.client_secret",
                value: String::new(),
                reason: "the API client's secret is required".into(),
            });
        }
        if config.page_size == 0 {
            return Err(Error::Config {
                setting: "xapi.page_size",
                value: "0".into(),
                reason: "a page holds at least one entity".into(),
            });
        }
        let http = client::build(SERVICE, config.timeout, config.danger_accept_invalid_certs)?;
        Ok(XapiClient {
            http,
            base,
            client_id: config.client_id,
            secret: config.client_secret,
            page_size: config.page_size,
            max_entities: config.max_entities.max(1),
            token: Mutex::new(TokenSlot::default()),
            requests: std::sync::Mutex::default(),
        })
    }

    /// XAPI requests so far by outcome: `ok`, or the [`Error::kind`] of the failure (`auth`,
    /// `token`, `status`, `transport`, `decode`, `missing_field`, `paging`, …). A page of a
    /// collection is one request; a token request is part of the request that needed it.
    ///
    /// ```
    /// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig}};
    /// let xapi = XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s3cr3t")))?;
    /// assert!(xapi.request_counts().is_empty());
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Counts one request's outcome.
    fn count<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind().code(),
        };
        *self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(outcome)
            .or_default() += 1;
        result
    }

    fn scrub(&self, text: &str) -> String {
        client::scrub(&self.secret, text)
    }

    fn transport(&self, op: &str, e: &reqwest::Error) -> Error {
        self.transport_text(op, &crate::error::describe(e))
    }

    /// A transport error for `op` that `reason` describes (scrubbed of the secret).
    fn transport_text(&self, op: &str, reason: &str) -> Error {
        Error::Http(HttpError::Transport {
            op: op.to_owned(),
            attempts: 1,
            reason: self.scrub(reason),
        })
    }

    /// A valid token: the cached one, or a new one (one request at a time; concurrent callers
    /// wait for it). Returns the token and its generation.
    async fn token(&self) -> Result<(Secret, u64), Error> {
        let mut slot = self.token.lock().await;
        if let Some(t) = &slot.current
            && Instant::now() < t.refresh_at
        {
            return Ok((t.value.clone(), t.generation));
        }
        slot.current = None;
        let (value, refresh_in) = self.fetch_token().await?;
        slot.issued += 1;
        let generation = slot.issued;
        tracing::debug!(
            generation,
            refresh_in_s = refresh_in.as_secs(),
            "XAPI token issued"
        );
        slot.current = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + refresh_in,
            generation,
        });
        Ok((value, generation))
    }

    /// Drops the token of `generation` if it is still the current one.
    async fn invalidate(&self, generation: u64) {
        let mut slot = self.token.lock().await;
        if slot
            .current
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            slot.current = None;
        }
    }

    async fn fetch_token(&self) -> Result<(Secret, Duration), Error> {
        let url = join(&self.base, &["connect", "token"]);
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("grant_type", "client_credentials"),
        ];
        let response = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(TOKEN_OP, &e))?;
        let status = response.status();
        let body = client::read_body(response, client::XAPI_BODY_LIMIT)
            .await
            .map_err(|e| self.transport_text(TOKEN_OP, &e))?;
        if !status.is_success() {
            let detail = match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(OAuthErrorBody {
                    error: Some(code),
                    error_description,
                }) => match error_description {
                    Some(d) => format!("{code}: {d}"),
                    None => code,
                },
                _ => quote_body(&body, |s| self.scrub(s)),
            };
            let detail = self.scrub(&detail);
            tracing::error!(status = status.as_u16(), detail = %detail, "XAPI token request refused");
            return Err(match status.as_u16() {
                400 | 401 | 403 => Error::Http(HttpError::Token {
                    op: TOKEN_OP.to_owned(),
                    reason: format!(
                        "HTTP {} {detail}; check the XAPI client id and secret",
                        status.as_u16()
                    ),
                }),
                s => Error::Http(HttpError::Status {
                    op: TOKEN_OP.to_owned(),
                    status: s,
                    body: detail,
                }),
            });
        }
        let answer: TokenResponse = client::decode(TOKEN_OP, "token response", &body)?;
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Http(HttpError::MissingField {
                    op: TOKEN_OP.to_owned(),
                    entity: "token response",
                    path: ".".into(),
                    field: "access_token".into(),
                })
            })?;
        Ok((
            Secret::new(token),
            refresh_after(answer.expires_in.as_ref()),
        ))
    }

    /// `GET` one URL with the token; on 401, one new token and one more try.
    async fn fetch(&self, op: &str, url: &Url) -> Result<Vec<u8>, Error> {
        let mut refreshed = false;
        loop {
            let (token, generation) = self.token().await?;
            let response = self
                .http
                .get(url.clone())
                .bearer_auth(token.expose())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| self.transport(op, &e))?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                tracing::info!(op, "XAPI refused the token; requesting a new one");
                self.invalidate(generation).await;
                refreshed = true;
                continue;
            }
            let body = client::read_body(response, client::XAPI_BODY_LIMIT)
                .await
                .map_err(|e| self.transport_text(op, &e))?;
            tracing::debug!(
                op,
                status = status.as_u16(),
                bytes = body.len(),
                "XAPI answered"
            );
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                tracing::error!(op, status = status.as_u16(), "XAPI refused the credentials");
            }
            return match status.as_u16() {
                200..=299 => Ok(body.to_vec()),
                401 => Err(Error::Http(HttpError::Auth {
                    op: op.to_owned(),
                    status: 401,
                    hint: "a fresh token was refused too; check the XAPI client id and secret",
                })),
                403 => Err(Error::Http(HttpError::Auth {
                    op: op.to_owned(),
                    status: 403,
                    hint: "the API client's role may not read this; give it the needed role in 3CX",
                })),
                s => Err(Error::Http(HttpError::Status {
                    op: op.to_owned(),
                    status: s,
                    body: client::scrub(
                        &token,
                        &self.scrub(
                            &odata_message(&body)
                                .unwrap_or_else(|| quote_body(&body, str::to_owned)),
                        ),
                    ),
                })),
            };
        }
    }

    fn url(&self, entity_set: &str, query: &Query) -> Url {
        let mut url = join(&self.base, &["xapi", "v1", entity_set]);
        let pairs = query.pairs();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url
    }

    /// `GET /xapi/v1/{entity_set}` with `query`, decoded as `T` (a singleton such as
    /// `OfficeHours`, or one page of a collection). `entity` names the schema in errors.
    ///
    /// # Errors
    /// [`HttpError::Token`] / [`HttpError::Auth`] when credentials are refused (after one new
    /// token), [`HttpError::Transport`] without a response, [`HttpError::Status`] for other
    /// statuses, [`HttpError::Decode`] / [`HttpError::MissingField`] for a body that is not the
    /// expected JSON.
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// use pbx_sources::xapi::{CdrSettings, Query};
    /// let s: CdrSettings = xapi.get("CDRSettings", &Query::new().select(["EnabledFields"]), "CDRSettings").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(
        &self,
        entity_set: &str,
        query: &Query,
        entity: &'static str,
    ) -> Result<T, Error> {
        let op = format!("GET /xapi/v1/{entity_set}");
        self.count(match self.fetch(&op, &self.url(entity_set, query)).await {
            Ok(body) => client::decode(&op, entity, &body),
            Err(e) => Err(e),
        })
    }

    /// Every entity of a collection, read page by page (`$top` = the page size, `$skip`
    /// advancing; any `$top` / `$skip` in `query` is replaced) until a page comes back short.
    /// Give `query` an `$orderby` so that pages do not overlap.
    ///
    /// # Errors
    /// As [`XapiClient::get`], for any page; [`HttpError::Paging`] when the pages never end or
    /// hold more than [`XapiConfig::max_entities`] entities in all.
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// use pbx_sources::xapi::{Query, XapiUser};
    /// let q = Query::new().select(["Id", "Number", "EmailAddress"]).filter("Number eq '101'").orderby("Id");
    /// let users: Vec<XapiUser> = xapi.list("Users", &q, "User").await?;
    /// # Ok(()) }
    /// ```
    pub async fn list<T: DeserializeOwned>(
        &self,
        entity_set: &str,
        query: &Query,
        entity: &'static str,
    ) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        let mut skip = 0;
        let mut previous: Option<Vec<u8>> = None;
        for pages in 0.. {
            let paging = |reason: &str| {
                Error::Http(HttpError::Paging {
                    op: format!("GET /xapi/v1/{entity_set}"),
                    pages,
                    reason: reason.to_owned(),
                })
            };
            if pages >= MAX_PAGES {
                return Err(paging("every page was full"));
            }
            let q = query.clone().top(self.page_size).skip(skip);
            let op = format!("GET /xapi/v1/{entity_set} ($skip={skip})");
            let (body, page) =
                self.count(match self.fetch(&op, &self.url(entity_set, &q)).await {
                    Ok(body) => {
                        client::decode::<Collection<T>>(&op, entity, &body).map(|page| (body, page))
                    }
                    Err(e) => Err(e),
                })?;
            let n = page.value.len() as u64;
            if all.len().saturating_add(page.value.len()) > self.max_entities {
                return Err(paging(&format!(
                    "more than {} {entity} entities (the limit, XapiConfig::max_entities); \
                     nothing of this list is used",
                    self.max_entities
                )));
            }
            // A short page is the last; a longer one means the server ignored $top and sent all.
            if n != self.page_size {
                all.extend(page.value);
                break;
            }
            if previous.as_deref() == Some(&body[..]) {
                return Err(paging(
                    "a full page came back unchanged for the next $skip; the server ignores $skip",
                ));
            }
            all.extend(page.value);
            previous = Some(body);
            skip += self.page_size;
        }
        Ok(all)
    }

    /// `GET /Users` with the properties pbx reads (number, names, email, queue status,
    /// registration, current profile), every page.
    ///
    /// # Errors
    /// As [`XapiClient::list`].
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// for u in xapi.users().await? { println!("{:?} {:?}", u.number, u.email_address); }
    /// # Ok(()) }
    /// ```
    pub async fn users(&self) -> Result<Vec<XapiUser>, Error> {
        let q = Query::new().select(USER_FIELDS).orderby("Id");
        self.list("Users", &q, "User").await
    }

    /// `GET /RingGroups?$expand=Members`, every page; `filter` is an OData `$filter`.
    ///
    /// # Errors
    /// As [`XapiClient::list`].
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let groups = xapi.ring_groups(Some("Number eq '800'")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ring_groups(&self, filter: Option<&str>) -> Result<Vec<RingGroup>, Error> {
        let mut q = Query::new()
            .select(["Id", "Number", "Name", "RingStrategy"])
            .expand("Members")
            .orderby("Id");
        if let Some(f) = filter {
            q = q.filter(f);
        }
        self.list("RingGroups", &q, "RingGroup").await
    }

    /// `GET /Queues?$expand=Agents`, every page; `filter` is an OData `$filter`.
    ///
    /// # Errors
    /// As [`XapiClient::list`].
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let queues = xapi.queues(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn queues(&self, filter: Option<&str>) -> Result<Vec<Queue>, Error> {
        let mut q = Query::new()
            .select(["Id", "Number", "Name"])
            .expand("Agents")
            .orderby("Id");
        if let Some(f) = filter {
            q = q.filter(f);
        }
        self.list("Queues", &q, "Queue").await
    }

    /// `GET /OfficeHours?$expand=OfficeHolidays`: the global schedule, break time, holidays
    /// and timezone, as pbx-core's [`OfficeHours`] (swagger names verbatim).
    ///
    /// # Errors
    /// As [`XapiClient::get`].
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let hours = xapi.office_hours().await?;
    /// println!("{:?}", hours.time_zone_id);
    /// # Ok(()) }
    /// ```
    pub async fn office_hours(&self) -> Result<OfficeHours, Error> {
        let q = Query::new().expand("OfficeHolidays");
        self.get("OfficeHours", &q, "OfficeHours").await
    }

    /// The PBX's business hours: [`XapiClient::office_hours`] converted by
    /// [`OfficeHours::to_business_hours`] (IANA or Windows timezone names).
    ///
    /// # Errors
    /// As [`XapiClient::office_hours`]; [`Error::Core`] naming the XAPI field and value that
    /// cannot be used (an unknown timezone, a schedule type that is not business hours, …).
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let hours = xapi.business_hours().await?;
    /// println!("{}", hours.timezone());
    /// # Ok(()) }
    /// ```
    pub async fn business_hours(&self) -> Result<BusinessHours, Error> {
        self.office_hours()
            .await?
            .to_business_hours()
            .map_err(|source| Error::Core {
                op: "GET /xapi/v1/OfficeHours".into(),
                source,
            })
    }

    /// `GET /CDRSettings`.
    ///
    /// # Errors
    /// As [`XapiClient::get`].
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let s = xapi.cdr_settings().await?;
    /// println!("{:?} on port {:?}", s.log_type, s.socket_port);
    /// # Ok(()) }
    /// ```
    pub async fn cdr_settings(&self) -> Result<CdrSettings, Error> {
        self.get("CDRSettings", &Query::new(), "CDRSettings").await
    }

    /// The CDR field template the PBX writes: `CDRSettings.EnabledFields[].Name`, in order.
    ///
    /// # Errors
    /// As [`XapiClient::cdr_settings`]; [`HttpError::MissingField`] for a field without `Name`;
    /// [`Error::Core`] for an unknown field name or an empty list.
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let parser = pbx_core::cdr::CdrParser::new(xapi.cdr_template().await?);
    /// # Ok(()) }
    /// ```
    pub async fn cdr_template(&self) -> Result<FieldTemplate, Error> {
        self.cdr_settings().await?.field_template()
    }

    /// The extension map from `/Users` (see [`extension_map`]).
    ///
    /// # Errors
    /// As [`XapiClient::users`] (users that cannot be used are skipped with a warning).
    ///
    /// ```no_run
    /// # async fn run(xapi: pbx_sources::xapi::XapiClient) -> Result<(), pbx_sources::Error> {
    /// let map = xapi.extension_map().await?;
    /// println!("{:?}", map.email_for("101"));
    /// # Ok(()) }
    /// ```
    pub async fn extension_map(&self) -> Result<ExtensionMap, Error> {
        Ok(extension_map(&self.users().await?))
    }
}

/// The `error.message` of an OData error body, if it is one.
fn odata_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v.get("error")?.get("message")?.as_str()?;
    Some(quote_body(m.as_bytes(), str::to_owned))
}

impl CdrSettings {
    /// The CDR field template: `EnabledFields[].Name`, in order.
    ///
    /// # Errors
    /// [`HttpError::MissingField`] for a field without `Name`; [`Error::Core`] for a name that is
    /// not a CDR field, or no fields.
    ///
    /// ```
    /// let s: pbx_sources::xapi::CdrSettings = serde_json::from_str(
    ///     r#"{"EnabledFields":[{"Name":"historyid"},{"Name":"callid"},{"Name":"duration"}]}"#).unwrap();
    /// assert_eq!(s.field_template()?.len(), 3);
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn field_template(&self) -> Result<FieldTemplate, Error> {
        const OP: &str = "GET /xapi/v1/CDRSettings";
        let names = self
            .enabled_fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.name.as_deref().ok_or_else(|| {
                    Error::Http(HttpError::MissingField {
                        op: OP.to_owned(),
                        entity: "CDRSettingsField",
                        path: format!("EnabledFields[{i}]"),
                        field: "Name".into(),
                    })
                })
            })
            .collect::<Result<Vec<&str>, Error>>()?;
        FieldTemplate::from_names(names).map_err(|source| Error::Core {
            op: OP.to_owned(),
            source,
        })
    }
}
