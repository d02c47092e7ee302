//! Node.js bindings for pbx (napi-rs). Each item converts types and errors and calls
//! `pbx-core`; no logic lives here. One file per core module; every error goes through
//! [`error`], which gives it a stable `code`. Batch calls (`parseLines`, `mapLines`,
//! `normalizeNumbers`) cross the JS/Rust boundary once per batch; their `…Async` variants run
//! on the libuv thread pool as napi `Task`s.

pub(crate) mod args;
pub mod call;
pub mod cdr;
pub mod config;
pub mod direction;
pub mod error;
pub mod extensions;
pub mod groups;
pub mod hours;
pub mod phone;
pub mod sideloader;

use napi::bindgen_prelude::{Env, Error, Result, ToNapiValue, TypeName, ValueType};
use napi::{JsValue, sys};
use napi_derive::napi;

/// A serde view as a plain JS object, made by napi's serializer (fields in declaration order;
/// `None` is `null` unless the field skips it). A core type's own view, or the binding's where
/// the core has none; their TypeScript interfaces are declared in `dts-header.d.ts`.
pub struct Js<T>(pub(crate) T);

impl<T: serde::Serialize> ToNapiValue for Js<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Env::from_raw(env).to_js_value(&val.0).map(|v| v.raw())
    }
}

impl<T> TypeName for Js<T> {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// A pbx-core view whose snake_case fields are published in camelCase (`base_url` →
/// `baseUrl`), its values as they are; the interfaces are declared in `dts-header.d.ts`.
pub struct Camel<T>(pub(crate) T);

impl<T: serde::Serialize> ToNapiValue for Camel<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let value = serde_json::to_value(&val.0).map_err(|e| Error::from_reason(e.to_string()))?;
        let value = camel_keys(value);
        unsafe { Js::to_napi_value(env, Js(value)) }
    }
}

/// `value` with the keys of its top-level object in camelCase (`last_error` → `lastError`);
/// the keys of the objects inside (`skipped`, `failures`) as they are.
pub(crate) fn camel_keys(value: serde_json::Value) -> serde_json::Value {
    let serde_json::Value::Object(fields) = value else {
        return value;
    };
    let camel = |k: String| {
        let mut parts = k.split('_');
        let first = parts.next().unwrap_or_default().to_owned();
        parts.fold(first, |mut out, p| {
            let mut chars = p.chars();
            out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(chars.as_str());
            out
        })
    };
    fields.into_iter().map(|(k, v)| (camel(k), v)).collect()
}

impl<T> TypeName for Camel<T> {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// The package version.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The core vocabulary: every code pbx-core defines for the values this package publishes as
/// strings, by vocabulary (`{ skip_reason: ['INTERNAL', …], direction_rule: […], … }`; the
/// names are pbx-core's, as the Python binding's `_vocabulary()`). A test checks that each code
/// is in the TypeScript types and accepted where the package takes it.
#[napi(js_name = "_vocabulary", ts_return_type = "Record<string, string[]>")]
pub fn vocabulary() -> std::collections::HashMap<&'static str, Vec<&'static str>> {
    pbx_core::vocabularies::all_codes().into_iter().collect()
}
