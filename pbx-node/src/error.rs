//! The one error bridge: every `pbx_core::Error` becomes a JS `Error` with a stable `code`
//! (and, where the core error has them, `kind`, `line`/`row`, `field`, `value`, `setting`,
//! `issues`). Nothing else in this crate builds a JS error.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::Location;

// A pbx-core error's `code` and `kind` are its category's and kind's codes
// (`pbx_core::ErrorCategory`, `pbx_core::ErrorKind`): `PBX_PARSE_ERROR`, `PBX_INVALID_CALL`,
// `PBX_CONFIG_ERROR`, `PBX_INVALID_ARGUMENT`; a sideloader's error's is `pbx_sources::Error::
// category`'s (`PBX_SYNC_ERROR`, `PBX_INVALID_STATE`, …). The codes below are the binding's own.

/// An argument is unusable: a value the binding cannot read, an argument of the wrong type
/// (the same code as pbx-core's `ErrorCategory::InvalidArgument`).
pub(crate) const INVALID_ARGUMENT: &str = "PBX_INVALID_ARGUMENT";
/// A file could not be read (`loadConfigFile`).
pub(crate) const IO_ERROR: &str = "PBX_IO_ERROR";

/// One problem in a configuration.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct ConfigIssue {
    /// Where: `call_api.base_url`, `business_hours.monday[1]`, …
    pub path: String,
    /// The value found, when there is one.
    pub value: Option<String>,
    /// What is wrong, phrased to follow the value.
    pub message: String,
}

/// A pbx error as data (what a thrown error carries; also used for one bad line of a batch).
#[napi(object)]
#[derive(Clone, Debug)]
pub struct PbxErrorInfo {
    /// Stable code: `PBX_PARSE_ERROR`, `PBX_INVALID_CALL`, `PBX_CONFIG_ERROR`,
    /// `PBX_INVALID_ARGUMENT` (pbx-core's error categories), `PBX_IO_ERROR`, `PBX_SYNC_ERROR` or
    /// `PBX_INVALID_STATE`.
    pub code: String,
    /// The pbx-core error kind's code, as the Python binding's `kind` (`invalid_value`,
    /// `invalid_column`, `field_count`, `empty_line`, `invalid_config`, …).
    pub kind: String,
    /// The whole message, saying what and where.
    pub message: String,
    /// The 1-based line, for errors about a text line.
    pub line: Option<i64>,
    /// The database row id, for errors about a row.
    pub row: Option<String>,
    /// The CDR field (or column) the error is about.
    pub field: Option<String>,
    /// The raw value the error is about.
    pub value: Option<String>,
    /// The setting the error is about (`PBX_INVALID_ARGUMENT`).
    pub setting: Option<String>,
    /// Every problem of a configuration (`PBX_CONFIG_ERROR`).
    pub issues: Option<Vec<ConfigIssue>>,
}

impl PbxErrorInfo {
    /// An error raised by the binding itself (not by pbx-core).
    pub(crate) fn binding(code: &str, kind: &str, message: impl Into<String>) -> Self {
        PbxErrorInfo {
            code: code.to_owned(),
            kind: kind.to_owned(),
            message: message.into(),
            line: None,
            row: None,
            field: None,
            value: None,
            setting: None,
            issues: None,
        }
    }
}

impl From<&pbx_core::Error> for PbxErrorInfo {
    fn from(e: &pbx_core::Error) -> Self {
        use pbx_core::Error as E;
        let kind = e.kind();
        let mut info = PbxErrorInfo::binding(kind.category().code(), kind.code(), e.to_string());
        info.line = e
            .location()
            .and_then(Location::line)
            .and_then(|n| i64::try_from(n).ok());
        info.row = e.location().and_then(Location::row).map(str::to_owned);
        info.field = e.field().map(str::to_owned);
        info.value = e.value().map(str::to_owned);
        match e {
            E::InvalidSetting { setting, .. } => info.setting = Some(setting.clone()),
            E::UnknownField { name } => info.value = Some(name.clone()),
            E::InvalidConfig { issues } => {
                info.issues = Some(
                    issues
                        .iter()
                        .map(|i| ConfigIssue {
                            path: i.path.clone(),
                            value: i.value.clone(),
                            message: i.message.clone(),
                        })
                        .collect(),
                )
            }
            _ => {}
        }
        info
    }
}

/// The JS `Error` for `info`: message, `code`, and every detail present as a property.
fn js_error<'env>(env: &'env Env, info: &PbxErrorInfo) -> napi::Result<Object<'env>> {
    let mut err = env.create_error(napi::Error::new(
        Status::GenericFailure,
        info.message.clone(),
    ))?;
    err.set("code", info.code.clone())?;
    err.set("kind", info.kind.clone())?;
    if let Some(v) = info.line {
        err.set("line", v)?;
    }
    if let Some(v) = &info.row {
        err.set("row", v.clone())?;
    }
    if let Some(v) = &info.field {
        err.set("field", v.clone())?;
    }
    if let Some(v) = &info.value {
        err.set("value", v.clone())?;
    }
    if let Some(v) = &info.setting {
        err.set("setting", v.clone())?;
    }
    if let Some(v) = &info.issues {
        err.set("issues", v.clone())?;
    }
    Ok(err)
}

/// Could not build the rich error: a plain one with the same code in its message.
fn fallback(info: &PbxErrorInfo) -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        format!("{}: {}", info.code, info.message),
    )
}

/// Throws `info` as a JS `Error` (message, `code`, and every detail present as a property)
/// and returns the napi error that tells the glue an exception is pending.
pub(crate) fn throw(env: &Env, info: PbxErrorInfo) -> napi::Error {
    match js_error(env, &info).and_then(|err| env.throw(err)) {
        Ok(()) => napi::Error::from_status(Status::PendingException),
        Err(_) => fallback(&info),
    }
}

/// The napi error that rejects a `Promise` with the JS `Error` for `info` (for the callback
/// of a future: the promise settles with exactly that object, `code` included).
pub(crate) fn rejection(env: &Env, info: &PbxErrorInfo) -> napi::Error {
    match js_error(env, info) {
        Ok(err) => napi::Error::from(err.to_unknown()),
        Err(_) => fallback(info),
    }
}

/// Converts a pbx-core result, throwing its error through [`throw`].
pub(crate) trait OrThrow<T> {
    /// The value, or the thrown JS error.
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}

impl<T> OrThrow<T> for std::result::Result<T, pbx_core::Error> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|e| throw(env, PbxErrorInfo::from(&e)))
    }
}

/// Throws a `PBX_INVALID_ARGUMENT` error raised by the binding (a value it cannot convert).
pub(crate) fn invalid_argument(env: &Env, message: impl Into<String>) -> napi::Error {
    throw(
        env,
        PbxErrorInfo::binding(INVALID_ARGUMENT, "invalid_argument", message),
    )
}

/// Throws a JS `TypeError` (code `PBX_INVALID_ARGUMENT`) for the argument `param` of
/// `function` that is `got` instead of `expected`: `normalizeNumber: options must be an object
/// or a region string like 'AU', not a number`.
pub(crate) fn type_error(
    env: &Env,
    function: &str,
    param: &str,
    expected: &str,
    got: &str,
) -> napi::Error {
    let message = format!("{function}: {param} must be {expected}, not {got}");
    match env.throw_type_error(&message, Some(INVALID_ARGUMENT)) {
        Ok(()) => napi::Error::from_status(Status::PendingException),
        Err(_) => napi::Error::new(Status::InvalidArg, message),
    }
}
