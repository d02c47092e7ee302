//! [`MonitorError`]: the call-group monitor loop: the group directory, the open alerts, its
//! saved state.

use super::BoxError;

/// The call-group monitor loop: the group directory, the open alerts, its saved state. Folded
/// into [`crate::Error`] as `Error::Monitor`; its `kind()`, `is_transient()` and `is_config()`
/// answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The group directory (XAPI) could not be read; the next check tries again.
    #[error("cannot read the call groups: {source}")]
    GroupDirectory {
        /// The directory's error.
        #[source]
        source: BoxError,
    },
    /// The alert API failed while the monitor took over its active alerts; the next check
    /// tries again.
    #[error("cannot list active alerts: {source}")]
    ActiveAlerts {
        /// The alert sink's error.
        #[source]
        source: BoxError,
    },
    /// The group monitor's state could not be loaded, saved or read back.
    #[error("cannot keep the monitor state: {source}")]
    MonitorState {
        /// The store's (or the JSON parser's) error.
        #[source]
        source: BoxError,
    },
}
