//! The one error type of pbx-sources.

/// What went wrong in an adapter, and where. `op` is the request (`GET /xapi/v1/Users`,
/// `POST /api/alerts/call-groups`, …). No variant ever holds a token, client secret or
/// password: bodies quoted in errors are scrubbed and truncated.
///
/// ```
/// let e = pbx_sources::Error::Status { op: "GET /api/health".into(), status: 503, body: "down".into() };
/// assert_eq!(e.to_string(), "GET /api/health: unexpected HTTP 503: down");
/// assert!(e.is_transient());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting cannot be used (a base URL that does not parse, zero concurrency, …).
    /// Fix the configuration; nothing was sent.
    #[error("invalid setting `{setting}` ({value}): {reason}")]
    Config {
        /// The setting, e.g. `base_url`.
        setting: &'static str,
        /// Its value (redacted where it could hold a secret).
        value: String,
        /// Why it is unusable and what is expected.
        reason: String,
    },
    /// The HTTP client could not be set up (TLS roots, crypto provider).
    #[error("cannot set up the HTTP client for {service}: {reason}")]
    Client {
        /// `call-logger API` or `3CX XAPI`.
        service: &'static str,
        /// What failed.
        reason: String,
    },
    /// No usable response: connection refused or reset, timeout, TLS failure, truncated body.
    /// Transient: try again later; check the base URL and the network if it persists.
    #[error("{op}: no response after {attempts} attempt(s): {reason}")]
    Transport {
        /// The request.
        op: String,
        /// How many attempts were made.
        attempts: u32,
        /// What the last attempt ran into.
        reason: String,
    },
    /// The server answered with a status this request does not expect (a 5xx after every
    /// retry, a 404 for a wrong base URL, a 400 for a bad query).
    #[error("{op}: unexpected HTTP {status}: {body}")]
    Status {
        /// The request.
        op: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body (scrubbed).
        body: String,
    },
    /// The server refused the credentials (401/403), after one fresh token where tokens apply.
    /// Not retried: fix the token / client id and secret, or the API client's role.
    #[error("{op}: credentials refused (HTTP {status}); {hint}")]
    Auth {
        /// The request.
        op: String,
        /// 401 or 403.
        status: u16,
        /// What to check.
        hint: &'static str,
    },
    /// The token endpoint did not issue a token.
    #[error("{op}: no access token: {reason}")]
    Token {
        /// The request (`POST /connect/token`).
        op: String,
        /// The HTTP status and OAuth error code, or what was wrong with the answer.
        reason: String,
    },
    /// The response is not the JSON expected (malformed, or a value of the wrong type).
    #[error("{op}: malformed response at `{path}`: {message}")]
    Decode {
        /// The request.
        op: String,
        /// Where in the document (`value[3].Agents[0].Number`; `.` for the whole body).
        path: String,
        /// What the parser found.
        message: String,
    },
    /// A field the request needs is absent (or null).
    #[error("{op}: {entity} at `{path}` lacks the required field `{field}`")]
    MissingField {
        /// The request.
        op: String,
        /// The swagger schema of the object (`User`, `Queue`, `Holiday`, …).
        entity: &'static str,
        /// Where the object is: in the response document (`value[2]` of a page, `.` for the
        /// top level), or, for checks made after paging, in the whole collection (`[12]`).
        path: String,
        /// The field's JSON name, verbatim.
        field: String,
    },
    /// Paging through a collection did not end.
    #[error("{op}: paging stopped after {pages} pages: {reason}")]
    Paging {
        /// The request.
        op: String,
        /// Pages read.
        pages: u64,
        /// Why it stopped.
        reason: String,
    },
    /// The data reached pbx-core and was refused there (e.g. an unknown CDR field name in
    /// `CDRSettings.EnabledFields`).
    #[error("{op}: {source}")]
    Core {
        /// The request whose data was refused.
        op: String,
        /// pbx-core's error.
        #[source]
        source: pbx_core::Error,
    },
    /// A file (a configuration, an extension map) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file as given.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than its limit; it was not read past the limit.
    #[error("cannot read {}: it is over the limit of {limit} bytes", path.display())]
    FileTooLarge {
        /// The file as given.
        path: std::path::PathBuf,
        /// The limit in bytes.
        limit: usize,
    },
}

impl Error {
    /// Whether trying again later may succeed (no response, or a 5xx / 429 / 408 status).
    ///
    /// ```
    /// let e = pbx_sources::Error::Auth { op: "GET /xapi/v1/Users".into(), status: 401, hint: "check the client secret" };
    /// assert!(!e.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}
