//! `pbx_core::config`: `loadConfig(path)`, `Config.load`, `Config.fromYaml` and the loaded
//! `Config` (`loadConfigFile` is the former name of `loadConfig`).

use std::collections::HashMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::config as core;
use pbx_core::config_views::{CallApiView, GroupsView, XapiView};
use pbx_sources::runtime::{ServiceConfig, load_config_with};

use crate::Camel;
use crate::args::{arg, opt_arg};
use crate::direction::DirectionPolicy;
use crate::error::{IO_ERROR, OrThrow, PbxErrorInfo, throw};
use crate::extensions::ExtensionMap;

/// A validated sideloader configuration (from `loadConfig`). Secrets are only given out by
/// `callApiToken()` / `xapiClientSecret()`, never by a getter, so logging it leaks nothing.
#[napi]
pub struct Config {
    pub(crate) inner: core::Config,
    /// Its service settings (`http`, `logging`, `ha`, `quarantine`).
    service: ServiceConfig,
}

#[napi]
impl Config {
    /// The PBX's IANA timezone.
    #[napi(getter)]
    pub fn timezone(&self) -> String {
        self.inner.timezone.name().to_owned()
    }

    /// The CDR field names, in order (pass `.join(',')` to `new CdrParser`).
    #[napi(getter)]
    pub fn cdr_template(&self) -> Vec<&'static str> {
        self.inner.cdr_template.names()
    }

    /// The source kind as written in `source.kind`: pbx-core's `SourceKind` code
    /// (`postgres_cdroutput`, `postgres_cl`, `postgres_table`, `mssql_table`,
    /// `socket_listen`, `socket_connect`, `file`, `directory`).
    #[napi(getter, ts_return_type = "SourceKind")]
    pub fn source_kind(&self) -> String {
        self.inner.source.kind().code().to_owned()
    }

    /// The call-logger API settings.
    #[napi(getter, ts_return_type = "CallApiSettings")]
    pub fn call_api(&self) -> Camel<CallApiView> {
        Camel(CallApiView::from(&self.inner.call_api))
    }

    /// The call API's bearer token, or `null`.
    #[napi]
    pub fn call_api_token(&self) -> Option<String> {
        self.inner
            .call_api
            .token
            .as_ref()
            .map(|t| t.expose().to_owned())
    }

    /// The XAPI settings, or `null` when the section is absent.
    #[napi(getter, ts_return_type = "XapiSettings | null")]
    pub fn xapi(&self) -> Option<Camel<XapiView>> {
        self.inner.xapi.as_ref().map(|x| Camel(XapiView::from(x)))
    }

    /// The XAPI client secret, or `null`.
    #[napi]
    pub fn xapi_client_secret(&self) -> Option<String> {
        self.inner
            .xapi
            .as_ref()
            .map(|x| x.client_secret.expose().to_owned())
    }

    /// Whether users are also read from XAPI `/Users`.
    #[napi(getter)]
    pub fn extensions_from_xapi(&self) -> bool {
        self.inner.extensions_from_xapi
    }

    /// `direction.trunk_dns` (also in `direction`).
    #[napi(getter)]
    pub fn trunk_dns(&self) -> Vec<String> {
        self.inner.direction.trunk_dns.clone()
    }

    /// `direction.service_dns` (also in `direction`).
    #[napi(getter)]
    pub fn service_dns(&self) -> Vec<String> {
        self.inner.direction.service_dns.clone()
    }

    /// The extension map with its fallback (`extensions`): the same as
    /// `ExtensionMap.fromConfig(config)`.
    #[napi(getter)]
    pub fn extensions(&self) -> ExtensionMap {
        ExtensionMap {
            inner: self.inner.extensions.clone(),
        }
    }

    /// `groups.enabled` (also in `groups`).
    #[napi(getter)]
    pub fn groups_enabled(&self) -> bool {
        self.inner.groups.enabled
    }

    /// The direction policy (pass to `classify`).
    #[napi(getter)]
    pub fn direction(&self) -> DirectionPolicy {
        DirectionPolicy::from_core(&self.inner.direction)
    }

    /// `skip` or `as_outbound` (pbx-core's `InternalCalls` code, the YAML's spelling).
    #[napi(getter, ts_return_type = "InternalCalls")]
    pub fn internal_calls(&self) -> String {
        self.inner.internal_calls.code().to_owned()
    }

    /// The default region for phone numbers.
    #[napi(getter)]
    pub fn default_region(&self) -> String {
        self.inner.default_region.to_string()
    }

    /// Where business hours come from: `schedule` (`BusinessHours.fromConfig`), `xapi`
    /// (`BusinessHours.fromXapi`), or `null` when not configured.
    #[napi(getter, ts_return_type = "'schedule' | 'xapi' | null")]
    pub fn business_hours_source(&self) -> Option<String> {
        self.inner
            .business_hours
            .as_ref()
            .map(|h| h.source_code().to_owned())
    }

    /// Call-group monitoring settings.
    #[napi(getter, ts_return_type = "GroupSettings")]
    pub fn groups(&self) -> Camel<GroupsView> {
        Camel(GroupsView::from(&self.inner.groups))
    }

    /// How often to poll a database source, in seconds.
    #[napi(getter)]
    pub fn poll_interval_secs(&self) -> f64 {
        self.inner.poll_interval.as_secs_f64()
    }

    /// Records per batch.
    #[napi(getter)]
    pub fn batch_size(&self) -> u32 {
        u32::try_from(self.inner.batch_size).unwrap_or(u32::MAX)
    }

    /// The quarantine file.
    #[napi(getter)]
    pub fn quarantine_path(&self) -> String {
        self.service.quarantine_path.clone()
    }

    /// The status/health listener, `ip:port`.
    #[napi(getter)]
    pub fn http_listen(&self) -> String {
        self.service.http.listen.to_string()
    }

    /// Log level.
    #[napi(getter)]
    pub fn log_level(&self) -> String {
        self.service.logging.level.clone()
    }

    /// `text` or `json`.
    #[napi(getter, ts_return_type = "'text' | 'json'")]
    pub fn log_format(&self) -> String {
        self.service.logging.format.code().to_owned()
    }
}

fn from_yaml(env: &Env, text: &str, vars: Option<HashMap<String, String>>) -> Result<Config> {
    load_config_with(text, vars.as_ref())
        .map(|(inner, service)| Config { inner, service })
        .or_throw(env)
}

pub(crate) fn load(env: &Env, path: &str, vars: Option<HashMap<String, String>>) -> Result<Config> {
    // As `pbx-sideloader --config` reads it: never past 1 MiB (`/dev/zero`, a FIFO).
    let text =
        pbx_sources::bounded::read_file_limited(std::path::Path::new(path), core::MAX_CONFIG_BYTES)
            .map_err(|e| {
                let mut info = PbxErrorInfo::binding(IO_ERROR, "io", e.to_string());
                info.value = Some(path.to_owned());
                throw(env, info)
            })?;
    from_yaml(env, &text, vars)
}

#[napi]
impl Config {
    /// Reads, substitutes and validates a configuration file: the same as `loadConfig`.
    #[napi(
        factory,
        ts_args_type = "path: string, vars?: Record<string, string> | undefined | null"
    )]
    pub fn load(env: Env, path: Unknown<'_>, vars: Option<Unknown<'_>>) -> Result<Config> {
        load_arg(&env, "Config.load", path, vars)
    }

    /// Substitutes (`${VAR}`, `${VAR:-default}`) and validates a YAML configuration given as
    /// text. Variables come from `vars` when given, else from the process environment. Throws
    /// `PBX_CONFIG_ERROR` with `issues: [{ path, value, message }]` listing every problem.
    #[napi(
        factory,
        ts_args_type = "yaml: string, vars?: Record<string, string> | undefined | null"
    )]
    pub fn from_yaml(env: Env, yaml: Unknown<'_>, vars: Option<Unknown<'_>>) -> Result<Config> {
        let yaml: String = arg(&env, "Config.fromYaml", "yaml", yaml)?;
        let vars = opt_arg(&env, "Config.fromYaml", "vars", vars)?;
        from_yaml(&env, &yaml, vars)
    }
}

/// Reads, substitutes (`${VAR}`, `${VAR:-default}`) and validates a configuration file (the
/// Python binding's `load_config(path, env)`; for YAML text use `Config.fromYaml`). Variables
/// come from `vars` when given, else from the process environment. Throws `PBX_IO_ERROR` when
/// the file cannot be read, `PBX_CONFIG_ERROR` with `issues: [{ path, value, message }]`
/// listing every problem.
#[napi(ts_args_type = "path: string, vars?: Record<string, string> | undefined | null")]
pub fn load_config(env: Env, path: Unknown<'_>, vars: Option<Unknown<'_>>) -> Result<Config> {
    load_arg(&env, "loadConfig", path, vars)
}

/// @deprecated The former name of `loadConfig(path, vars)`.
#[napi(ts_args_type = "path: string, vars?: Record<string, string> | undefined | null")]
pub fn load_config_file(env: Env, path: Unknown<'_>, vars: Option<Unknown<'_>>) -> Result<Config> {
    load_arg(&env, "loadConfigFile", path, vars)
}

/// `load` with its arguments read for `function`.
fn load_arg(
    env: &Env,
    function: &str,
    path: Unknown<'_>,
    vars: Option<Unknown<'_>>,
) -> Result<Config> {
    let path: String = arg(env, function, "path", path)?;
    let vars = opt_arg(env, function, "vars", vars)?;
    load(env, &path, vars)
}
