//! The whole sideloader configuration: YAML with `${VAR}` / `${VAR:-default}` substitution,
//! validated at once so that every problem is reported with its path before anything starts.
//!
//! The YAML is read by `serde-saphyr` (a maintained, panic-free, pure-Rust YAML parser:
//! `serde_yaml` is archived); unknown keys are errors, so a typo cannot silently disable a
//! feature. Nothing here reads files or the environment: the caller hands in the text and a
//! variable lookup.
//!
//! ```
//! use pbx_core::config::Config;
//! let yaml = "
//! source: { kind: file, path: /var/log/3cx/cdr.log }
//! call_api: { base_url: 'http://localhost:8080', token: '${API_TOKEN}' }
//! ";
//! let env = |name: &str| (name == "API_TOKEN").then(|| "s3cret".to_string());
//! let config = Config::from_yaml(yaml, &env)?;
//! assert_eq!(config.call_api.token.as_ref().map(|t| t.expose()), Some("s3cret"));
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), pbx_core::Error>(())
//! ```

mod check;
mod legacy;
mod load;
mod raw;
mod secret;
mod sections;
mod source_kind;
mod subst;
mod url;
mod validate;
mod yaml_value;

pub use crate::cdr::TableMapping;
pub use crate::error::ConfigIssue;
pub use check::{Check, Section};
pub use load::{MAX_CONFIG_BYTES, extensions_from_yaml, parse_yaml};
pub use secret::Secret;
pub use sections::{
    CallApiConfig, CheckpointConfig, Config, GroupsConfig, HostSections, HoursConfig, SinkConfig,
    SourceConfig, XapiConfig,
};
pub use source_kind::SourceKind;
pub use subst::substitute;
pub use url::redact_url;
