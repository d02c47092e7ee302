//! What the call-logger API client and the XAPI client share: building a `reqwest` client,
//! checking base URLs, describing transport failures, reading and decoding bodies.

use crate::HttpError;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::Secret;
use crate::error::Error;

/// The most of a response body quoted in an error.
const QUOTED_BODY: usize = 512;

/// `text` with every occurrence of `secret` replaced by `***` (for text from elsewhere, such as a
/// response body, before it goes into an error or a log). Values shorter than 4 characters are
/// left alone: they would blank out ordinary text, and no real secret is that short.
pub(crate) fn scrub(secret: &Secret, text: &str) -> String {
    let value = secret.expose();
    if value.len() < 4 {
        return text.to_owned();
    }
    text.replace(value, "***")
}

/// The most of a call-logger API answer that is read: its answers are small JSON objects.
#[cfg(feature = "http")]
pub(crate) const CALL_API_BODY_LIMIT: usize = 1 << 20;

/// The most of an XAPI answer that is read: the user and group lists of a large PBX fit
/// many times over.
#[cfg(feature = "xapi")]
pub(crate) const XAPI_BODY_LIMIT: usize = 32 << 20;

/// Reads `response`'s body, at most `limit` bytes. A longer body (by its `Content-Length`, or
/// as it streams in) is an error and is never buffered whole.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let too_long = || format!("the answer is longer than the limit of {limit} bytes");
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| crate::error::describe(&e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks a base URL: http or https, no credentials in it, no query or fragment.
pub(crate) fn base_url(setting: &'static str, raw: &str) -> Result<Url, Error> {
    let bad = |value: String, reason: &str| Error::Config {
        setting,
        value,
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| {
        bad(
            pbx_core::config::redact_url(raw),
            &format!("not an absolute URL ({e}); expected e.g. https://pbx.example.com"),
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            pbx_core::config::redact_url(raw),
            "credentials do not belong in the URL; configure the token or client secret instead",
        ));
    }
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad(
            pbx_core::config::redact_url(raw),
            "the scheme must be http or https",
        ));
    }
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            pbx_core::config::redact_url(raw),
            "expected a base URL without query or fragment, e.g. https://pbx.example.com",
        ));
    }
    Ok(url)
}

/// `base` with `segments` appended to its path (each one percent-encoded as needed).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// A `reqwest` client: rustls with certificate checks unless `insecure`, no redirects (a
/// redirected POST would turn into a GET), `timeout` per request.
pub(crate) fn build(
    service: &'static str,
    timeout: Duration,
    insecure: bool,
) -> Result<reqwest::Client, Error> {
    if insecure {
        tracing::warn!(
            service,
            "TLS certificate verification is OFF (danger_accept_invalid_certs); \
             anyone on the network path can read and alter this traffic"
        );
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(insecure)
        .user_agent(concat!("pbx/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| Error::Http(HttpError::Client { service, source }))
}

/// The start of a body as text, for an error message; `scrub` removes secrets.
pub(crate) fn quote_body(body: &[u8], scrub: impl Fn(&str) -> String) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(QUOTED_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = scrub(&text[..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Decodes a JSON body into `T`; a failure names the path inside the document, and a missing
/// field becomes [`HttpError::MissingField`] naming it.
pub(crate) fn decode<T: DeserializeOwned>(
    op: &str,
    entity: &'static str,
    body: &[u8],
) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            return Error::Http(HttpError::MissingField {
                op: op.to_owned(),
                entity,
                path,
                field: field.to_owned(),
            });
        }
        Error::Http(HttpError::Decode {
            op: op.to_owned(),
            path,
            source: inner,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(base_url("base_url", "https://pbx.example.com").is_ok());
        assert!(base_url("base_url", "http://127.0.0.1:8080/prefix/").is_ok());
        let e = base_url("base_url", "https://admin:hunter22@pbx.example.com").unwrap_err();
        assert!(!e.to_string().contains("hunter22"), "{e}");
        assert!(!format!("{e:?}").contains("hunter22"));
        assert!(base_url("base_url", "ftp://pbx.example.com").is_err());
        assert!(base_url("base_url", "pbx.example.com").is_err());
        assert!(base_url("base_url", "https://pbx.example.com/?a=b").is_err());
        // Every message shows the URL redacted: no password, no query value.
        for raw in [
            "htp://admin:hunter22@pbx.example.com",
            "https://pbx.example.com/?key=hunter22",
            "https://admin:hunter22@pbx.example.com:99999",
        ] {
            let e = base_url("base_url", raw).unwrap_err().to_string();
            assert!(!e.contains("hunter22"), "{e}");
        }
    }

    #[test]
    fn joins_segments() {
        let base = Url::parse("http://h:1/prefix/").unwrap();
        assert_eq!(
            join(&base, &["api", "alerts", "a b/c"]).as_str(),
            "http://h:1/prefix/api/alerts/a%20b%2Fc"
        );
        let base = Url::parse("http://h:1").unwrap();
        assert_eq!(
            join(&base, &["api", "health"]).as_str(),
            "http://h:1/api/health"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            #[serde(rename = "Number")]
            number: String,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            value: Vec<Inner>,
        }
        let e =
            decode::<Outer>("GET /x", "Queue", br#"{"value":[{"Number":"1"},{}]}"#).unwrap_err();
        match e {
            Error::Http(HttpError::MissingField { path, field, .. }) => {
                assert_eq!(field, "Number");
                assert_eq!(path, "value[1]");
            }
            other => panic!("{other:?}"),
        }
        let e = decode::<Outer>("GET /x", "Queue", br#"{"value":[{"Number":1}]}"#).unwrap_err();
        assert!(
            matches!(e, Error::Http(HttpError::Decode { ref path, .. }) if path == "value[0].Number"),
            "{e:?}"
        );
    }

    #[test]
    fn scrubs_secrets() {
        let s = Secret::new("abc123");
        assert_eq!(
            scrub(&s, "token abc123 refused, abc123"),
            "token *** refused, ***"
        );
        assert_eq!(scrub(&Secret::new("a"), "a cat"), "a cat");
    }

    #[test]
    fn quotes_are_short_and_scrubbed() {
        let body = "x".repeat(2000) + "tok";
        let q = quote_body(body.as_bytes(), |s| s.to_owned());
        assert!(q.len() < 600);
        assert_eq!(
            quote_body(b" bad tok ", |s| s.replace("tok", "***")),
            "bad ***"
        );
    }
}
