//! [`HttpError`]: the HTTP adapters (the call-logger API client, the XAPI client): a request
//! without an answer, an answer it cannot use.

#[cfg(any(feature = "http", feature = "xapi"))]
use super::describe;

/// The HTTP adapters (the call-logger API client, the XAPI client): a request without an
/// answer, an answer it cannot use. Folded into [`crate::Error`] as `Error::Http`; its
/// `kind()`, `is_transient()` and `is_config()` answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The HTTP client could not be set up (TLS roots, crypto provider).
    #[cfg(any(feature = "http", feature = "xapi"))]
    #[error("cannot set up the HTTP client for {service}: {}", describe(source))]
    Client {
        /// `call-logger API` or `3CX XAPI`.
        service: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// No usable response: connection refused or reset, timeout, TLS failure, truncated body.
    /// Transient: try again later; check the base URL and the network if it persists. The
    /// reason is text on purpose: the HTTP client's error quotes the URL, which is scrubbed.
    #[error("{op}: no response after {attempts} attempt(s): {reason}")]
    Transport {
        /// The request.
        op: String,
        /// How many attempts were made.
        attempts: u32,
        /// What the last attempt ran into (scrubbed).
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
    #[cfg(any(feature = "http", feature = "xapi"))]
    #[error("{op}: malformed response at `{path}`: {source}")]
    Decode {
        /// The request.
        op: String,
        /// Where in the document (`value[3].Agents[0].Number`; `.` for the whole body).
        path: String,
        /// What the parser found.
        #[source]
        source: serde_json::Error,
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
}
