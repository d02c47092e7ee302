//! The client-credentials token: how long to trust one.

use std::time::Duration;

use serde::Deserialize;

use crate::Secret;

/// What `POST /connect/token` answers.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<serde_json::Value>,
}

/// What an OAuth error answer holds (RFC 6749 §5.2).
#[derive(Deserialize)]
pub(crate) struct OAuthErrorBody {
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

/// Assumed when the answer has no usable `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// How long after it was issued a token is replaced.
///
/// `expires_in` was minutes before 3CX 20.0.9 and is seconds since. It is read as seconds:
/// if the server meant minutes, the token is only replaced earlier than needed (harmless: one
/// extra token request per lifetime); reading seconds as minutes would send expired tokens.
/// A 401 still triggers one refresh, whatever was assumed. The token is replaced a quarter of
/// its lifetime early (at most 60 s early) so a request never leaves with a token about to
/// expire. No or a non-numeric `expires_in`: 60 s. `0` or negative: replace before every use.
pub(crate) fn refresh_after(expires_in: Option<&serde_json::Value>) -> Duration {
    let secs = match expires_in {
        None => return early(DEFAULT_LIFETIME),
        Some(v) => v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok())),
    };
    match secs {
        None => early(DEFAULT_LIFETIME),
        Some(s) if s.is_nan() || s <= 0.0 => Duration::ZERO,
        Some(s) => early(Duration::from_secs_f64(s.min(365.0 * 86_400.0))),
    }
}

fn early(lifetime: Duration) -> Duration {
    lifetime - (lifetime / 4).min(Duration::from_secs(60))
}

/// A token and when to replace it.
pub(crate) struct CachedToken {
    pub(crate) value: Secret,
    pub(crate) refresh_at: tokio::time::Instant,
    /// Counts tokens issued, so a 401 invalidates only the token it was answered to.
    pub(crate) generation: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetimes() {
        let s = Duration::from_secs;
        assert_eq!(refresh_after(Some(&json!(3600))), s(3540));
        assert_eq!(refresh_after(Some(&json!(60))), s(45));
        assert_eq!(refresh_after(Some(&json!("120"))), s(90));
        assert_eq!(
            refresh_after(Some(&json!(2.0))),
            s(2) - Duration::from_millis(500)
        );
        assert_eq!(refresh_after(Some(&json!(0))), Duration::ZERO);
        assert_eq!(refresh_after(Some(&json!(-5))), Duration::ZERO);
        assert_eq!(refresh_after(None), s(45));
        assert_eq!(refresh_after(Some(&json!("soon"))), s(45));
        assert_eq!(refresh_after(Some(&json!(f64::MAX))), s(365 * 86_400 - 60));
    }
}
