//! Retry policy: exponential backoff with full jitter, `Retry-After` honoured up to a cap,
//! and the [`Sleeper`] that waits (replaceable so tests never wait).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::{RngExt, SeedableRng, rngs::StdRng};

/// How a request that failed transiently is tried again.
///
/// Attempt `n` (counting retries from 0) waits a uniformly random time in
/// `[0, min(cap, base × 2ⁿ)]` ("full jitter"), unless the server sent `Retry-After`: then
/// exactly that long, if it is at most `max_retry_after`; a longer `Retry-After` ends the
/// retries at once and is handed to the caller (in [`pbx_core::DeliveryOutcome::Retry`]'s
/// `after`).
///
/// ```
/// use std::time::Duration;
/// use pbx_sources::call_logger::RetryPolicy;
/// let p = RetryPolicy { seed: Some(7), ..RetryPolicy::default() };
/// assert_eq!(p.attempts, 4);
/// assert_eq!(p.ceiling(0), Duration::from_millis(250));
/// assert_eq!(p.ceiling(3), Duration::from_secs(2));
/// assert_eq!(p.ceiling(30), p.cap);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1; default 4).
    pub attempts: u32,
    /// The first backoff's upper bound (default 250 ms).
    pub base: Duration,
    /// No backoff is longer (default 10 s).
    pub cap: Duration,
    /// The longest `Retry-After` waited for in-line (default 30 s); a longer one is returned to
    /// the caller instead.
    pub max_retry_after: Duration,
    /// Seed for the jitter (`None`: from the OS). Set it for reproducible delays.
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
            seed: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt per request.
    ///
    /// ```
    /// assert_eq!(pbx_sources::call_logger::RetryPolicy::none().attempts, 1);
    /// ```
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The random source of the jitter: seeded from `seed`, else from the OS.
    pub(crate) fn rng(&self) -> StdRng {
        match self.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            // The OS should always have entropy; if not, a clock-seeded generator still jitters.
            None => StdRng::try_from_rng(&mut rand::rngs::SysRng).unwrap_or_else(|_| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                StdRng::seed_from_u64(nanos as u64)
            }),
        }
    }

    /// The longest wait before retry `n` (0 for the first retry): `min(cap, base × 2ⁿ)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = pbx_sources::call_logger::RetryPolicy::default();
    /// assert_eq!(p.ceiling(1), Duration::from_millis(500));
    /// ```
    pub fn ceiling(&self, n: u32) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(n.min(31)))
            .min(self.cap)
    }

    /// The wait before retry `n` for a random `unit` in `[0, 1]`: `unit × ceiling(n)`
    /// (values outside `[0, 1]` are clamped). The client draws `unit` uniformly.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = pbx_sources::call_logger::RetryPolicy::default();
    /// assert_eq!(p.backoff(2, 0.5), Duration::from_millis(500));
    /// assert_eq!(p.backoff(2, 7.0), p.ceiling(2));
    /// ```
    pub fn backoff(&self, n: u32, unit: f64) -> Duration {
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        self.ceiling(n).mul_f64(unit)
    }

    /// A uniformly random wait in `[0, ceiling(n)]` from `rng`.
    pub(crate) fn jittered(&self, n: u32, rng: &mut StdRng) -> Duration {
        self.backoff(n, rng.random_range(0.0..=1.0))
    }
}

/// Waits between attempts. The default, [`TokioSleeper`], sleeps on tokio's timer; tests pass
/// one that records the delay and returns at once.
///
/// ```
/// use std::{future::Future, pin::Pin, time::Duration};
/// struct NoWait;
/// impl pbx_sources::call_logger::Sleeper for NoWait {
///     fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
///         Box::pin(async {})
///     }
/// }
/// ```
pub trait Sleeper: Send + Sync + 'static {
    /// A future that completes after `delay`.
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// [`Sleeper`] on tokio's timer.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use pbx_sources::call_logger::{Sleeper, TokioSleeper};
/// TokioSleeper.sleep(std::time::Duration::from_millis(1)).await;
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(delay))
    }
}

/// `Retry-After` as a duration: delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(at) = httpdate::parse_http_date(value) {
        return Some(
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_capped_exponential() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            seed: Some(1),
            ..RetryPolicy::default()
        };
        let mut rng = p.rng();
        let mut seen_above_half = false;
        for n in 0..40 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(n.min(10))).min(p.cap);
            for _ in 0..50 {
                let d = p.jittered(n, &mut rng);
                assert!(d <= ceiling, "{d:?} > {ceiling:?} at {n}");
                seen_above_half |= n >= 4 && d > Duration::from_millis(500);
            }
        }
        assert!(
            seen_above_half,
            "jitter never used the upper half of the range"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a past date means now"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn a_seed_makes_delays_reproducible() {
        let p = RetryPolicy {
            seed: Some(42),
            ..RetryPolicy::default()
        };
        let (mut a, mut b) = (p.rng(), p.rng());
        let xs: Vec<_> = (0..5).map(|n| p.jittered(n, &mut a)).collect();
        let ys: Vec<_> = (0..5).map(|n| p.jittered(n, &mut b)).collect();
        assert_eq!(xs, ys);
    }
}
