//! The one error bridge: every `pbx_core::Error` becomes a JS `Error` with a stable `code`
//! (and, where the core error has them, `kind`, `line`/`row`, `field`, `value`, `setting`,
//! `issues`). Nothing else in this crate builds a JS error.

use napi::bindgen_prelude::*;

// A pbx-core error's `code` and `kind` are its category's and kind's codes
// (`pbx_core::ErrorCategory`, `pbx_core::ErrorKind`); a sideloader's error's is
// `pbx_sources::Error::category`'s. The codes below are the binding's own.

/// An argument is unusable: a value the binding cannot read, an argument of the wrong type
/// (the same code as pbx-core's `ErrorCategory::InvalidArgument`).
pub(crate) const INVALID_ARGUMENT: &str = "PBX_INVALID_ARGUMENT";
/// A file could not be read (`loadConfigFile`).
pub(crate) const IO_ERROR: &str = "PBX_IO_ERROR";

/// A pbx error as data: what a thrown error carries, and one bad line of a batch
/// (`PbxErrorInfo` and `ConfigIssue` in `dts-header.d.ts`): pbx-core's view.
pub use pbx_core::ErrorInfo as PbxErrorInfo;

/// The JS `Error` for `info`: its message, and every other field present as a property.
fn js_error<'env>(env: &'env Env, info: &PbxErrorInfo) -> napi::Result<Object<'env>> {
    let message = napi::Error::new(Status::GenericFailure, info.message.clone());
    let mut err = env.create_error(message)?;
    if let Ok(serde_json::Value::Object(mut fields)) = serde_json::to_value(info) {
        for key in [
            "code", "kind", "line", "row", "field", "value", "setting", "issues",
        ] {
            if let Some(value) = fields.remove(key) {
                err.set(key, value)?;
            }
        }
    }
    Ok(err)
}

/// Could not build the rich error: a plain one with the same code in its message.
fn fallback(info: &PbxErrorInfo) -> napi::Error {
    let message = format!("{}: {}", info.code, info.message);
    napi::Error::new(Status::GenericFailure, message)
}

/// Throws `info` as a JS `Error` and returns the napi error that tells the glue an exception
/// is pending.
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

/// `serde_json::from_value`, a value it cannot read thrown as `PBX_INVALID_ARGUMENT`
/// (`what: the serde error`).
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    env: &Env,
    what: &str,
    value: serde_json::Value,
) -> napi::Result<T> {
    serde_json::from_value(value).map_err(|e| invalid_argument(env, format!("{what}: {e}")))
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
