//! Argument conversion. Every exported function, method and constructor takes its parameters
//! as `Unknown` (its TypeScript type given with `ts_arg_type`) and reads each one with
//! [`arg`] or [`opt_arg`]: a wrong-typed or missing argument is a JS `TypeError` with code
//! `PBX_INVALID_ARGUMENT` naming the function and the parameter
//! (`new CdrParser: template must be a string, not a number`), instead of napi's own
//! `Error` without a parameter name. What each Rust type accepts is said once, in its
//! [`FromArg`] implementation.

use std::collections::HashMap;

use napi::JsDate;
use napi::bindgen_prelude::*;

use crate::error::type_error;

/// A Rust value read from one JS argument.
pub(crate) trait FromArg<'v>: Sized {
    /// What the argument must be, in words, to follow "must be" (`a string`).
    fn expected() -> String;

    /// The value, or what the argument is instead, in words (`a number`).
    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String>;
}

/// Reads the required argument `param` of `function`: a `TypeError` naming both when it has
/// the wrong type or is missing (`undefined`).
pub(crate) fn arg<'v, T: FromArg<'v>>(
    env: &Env,
    function: &str,
    param: &str,
    value: Unknown<'v>,
) -> Result<T> {
    T::from_arg(value).map_err(|got| type_error(env, function, param, &T::expected(), &got))
}

/// Reads the optional argument `param` of `function`: absent, `undefined` and `null` are
/// `None`; a value of another type is a `TypeError` naming both.
pub(crate) fn opt_arg<'v, T: FromArg<'v>>(
    env: &Env,
    function: &str,
    param: &str,
    value: Option<Unknown<'v>>,
) -> Result<Option<T>> {
    match value {
        None => Ok(None),
        Some(v) => arg::<Option<T>>(env, function, param, v),
    }
}

/// A JS value's type in words: `a number`, `an array`, `null`, or an instance's class (`a
/// Config`).
pub(crate) fn type_words(value: &Unknown<'_>) -> String {
    if value.is_array().unwrap_or(false) {
        return "an array".to_owned();
    }
    let words = match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::Object) => {
            return match class_name(value) {
                Some(name) => with_article(&name),
                None => "an object".to_owned(),
            };
        }
        _ => "a value of another type",
    };
    words.to_owned()
}

/// The name of an object's class when it is not a plain object (`Config`, `Date`, `Map`).
fn class_name(value: &Unknown<'_>) -> Option<String> {
    let object = Object::from_unknown(*value).ok()?;
    let constructor: Unknown<'_> = object.get_named_property_unchecked("constructor").ok()?;
    if constructor.get_type().ok()? != ValueType::Function {
        return None;
    }
    let constructor = Object::from_unknown(constructor).ok()?;
    let name: Unknown<'_> = constructor.get_named_property_unchecked("name").ok()?;
    if name.get_type().ok()? != ValueType::String {
        return None;
    }
    let name = String::from_unknown(name).ok()?;
    (!name.is_empty() && name != "Object").then_some(name)
}

/// `a Config`, `an ExtensionMap`.
fn with_article(name: &str) -> String {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

fn is_type(value: &Unknown<'_>, t: ValueType) -> bool {
    value.get_type().is_ok_and(|v| v == t)
}

/// A plain object (not an array, a `Date`, a class instance): options, JSON objects.
fn is_plain_object(value: &Unknown<'_>) -> bool {
    is_type(value, ValueType::Object)
        && !value.is_array().unwrap_or(true)
        && class_name(value).is_none()
}

/// [`FromArg`] for types napi reads once the JS value passes a check: `Type: "what it must
/// be", |value| accepted, |napi's reason| what it is instead;`.
macro_rules! checked_args {
    ($($ty:ty: $words:literal, |$v:ident| $accepts:expr, |$e:ident| $got:expr;)*) => {$(
        impl<'v> FromArg<'v> for $ty {
            fn expected() -> String {
                $words.to_owned()
            }

            fn from_arg($v: Unknown<'v>) -> std::result::Result<Self, String> {
                if !$accepts {
                    return Err(type_words(&$v));
                }
                <$ty>::from_unknown($v).map_err(|$e| $got)
            }
        }
    )*};
}

checked_args! {
    String: "a string", |v| is_type(&v, ValueType::String), |e| e.reason;
    // An object whose every value is a string (variables for `${VAR}`).
    HashMap<String, String>: "an object of strings", |v| is_plain_object(&v),
        |_e| "an object holding a value that is not a string".to_owned();
    // A `Date` (whether its time is valid is checked where it is used).
    JsDate<'v>: "a Date", |v| is_type(&v, ValueType::Object) && v.is_date().unwrap_or(false),
        |e| e.reason;
    Buffer: "a Buffer", |v| v.is_buffer().unwrap_or(false), |e| e.reason;
    // A plain JSON object (`Record<string, unknown>`: a monitor state, an XAPI document, an
    // extension map) and a JSON array (`Array<Record<string, unknown>>`).
    JsonObject: "an object", |v| is_plain_object(&v),
        |e| format!("an object that is not JSON ({})", e.reason);
    JsonArray: "an array", |v| v.is_array().unwrap_or(false),
        |e| format!("an array that is not JSON ({})", e.reason);
}

/// [`FromArg`] for `#[napi(object)]` types: a plain object whose fields napi converts; a field
/// of the wrong type names the field. Each module lists its own types (so this module imports
/// none of them): `object_args! { Type: "what it must be"; }`.
macro_rules! object_args {
    ($($ty:ty: $words:literal;)*) => {$(
        impl<'v> $crate::args::FromArg<'v> for $ty {
            fn expected() -> String {
                $words.to_owned()
            }

            fn from_arg(v: napi::Unknown<'v>) -> std::result::Result<Self, String> {
                $crate::args::object_arg(v)
            }
        }
    )*};
}
pub(crate) use object_args;

/// A plain object converted by napi, for [`object_args`].
pub(crate) fn object_arg<T: FromNapiValue>(v: Unknown<'_>) -> std::result::Result<T, String> {
    if !is_plain_object(&v) {
        return Err(type_words(&v));
    }
    T::from_unknown(v).map_err(|e| format!("an object that does not fit ({})", e.reason))
}

/// A plain JSON object, read as [`checked_args`] says.
pub(crate) struct JsonObject(pub(crate) serde_json::Value);

/// A JSON array, read as [`checked_args`] says.
pub(crate) struct JsonArray(pub(crate) serde_json::Value);

impl FromNapiValue for JsonObject {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        unsafe { serde_json::Value::from_napi_value(env, value) }.map(JsonObject)
    }
}

impl FromNapiValue for JsonArray {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        unsafe { serde_json::Value::from_napi_value(env, value) }.map(JsonArray)
    }
}

impl<'v> FromArg<'v> for u32 {
    fn expected() -> String {
        "a whole number from 0 to 4294967295".to_owned()
    }

    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
        if !is_type(&value, ValueType::Number) {
            return Err(type_words(&value));
        }
        let n = f64::from_unknown(value).map_err(|e| e.reason)?;
        if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
            return Err(format!("{n}"));
        }
        Ok(n as u32)
    }
}

/// `undefined` or `null` is `None`.
impl<'v, T: FromArg<'v>> FromArg<'v> for Option<T> {
    fn expected() -> String {
        T::expected()
    }

    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
        if is_type(&value, ValueType::Undefined) || is_type(&value, ValueType::Null) {
            return Ok(None);
        }
        T::from_arg(value).map(Some)
    }
}

/// An array whose every element is a `T`.
impl<'v, T: FromArg<'v>> FromArg<'v> for Vec<T> {
    fn expected() -> String {
        match T::expected().as_str() {
            "a string" => "an array of strings".to_owned(),
            element => format!("an array whose every element is {element}"),
        }
    }

    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
        if !value.is_array().unwrap_or(false) {
            return Err(type_words(&value));
        }
        let array = Array::from_unknown(value).map_err(|e| e.reason)?;
        (0..array.len())
            .map(|i| {
                let element = array
                    .get::<Unknown<'v>>(i)
                    .map_err(|e| e.reason)?
                    .ok_or_else(|| format!("an array without element {i}"))?;
                T::from_arg(element).map_err(|got| format!("an array holding {got} at index {i}"))
            })
            .collect()
    }
}

/// An instance of one of this package's classes (`CallMapper`, `Config`, …), or of a JS
/// subclass of it. napi checks the class recorded when the object was made before it unwraps
/// it, so an instance of another class is refused, never misread.
impl<'v, T: 'v + TypeName + MaybeTypeTag> FromArg<'v> for ClassInstance<'v, T> {
    fn expected() -> String {
        with_article(T::type_name())
    }

    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
        if !is_type(&value, ValueType::Object) {
            return Err(type_words(&value));
        }
        ClassInstance::<T>::from_unknown(value).map_err(|_| match type_words(&value) {
            words if words == Self::expected() => format!("{words} not made by its constructor"),
            words => words,
        })
    }
}

/// The text of `a or b` for the expected value of an `Either`.
fn alternatives(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What an argument none of an `Either`'s alternatives accepts is: the alternative that got
/// furthest (`an array holding a number at index 0`), else its type in words.
fn closest(value: &Unknown<'_>, gots: Vec<String>) -> String {
    let words = type_words(value);
    gots.into_iter().find(|got| *got != words).unwrap_or(words)
}

/// [`FromArg`] for `Either` and `Either3`: the first alternative that accepts the value.
macro_rules! either_args {
    ($($either:ident<$($t:ident),+>;)*) => {$(
        impl<'v, $($t: FromArg<'v>),+> FromArg<'v> for $either<$($t),+> {
            fn expected() -> String {
                alternatives(&[$($t::expected()),+])
            }

            fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
                let mut gots = Vec::new();
                $(match $t::from_arg(value) {
                    Ok(v) => return Ok($either::$t(v)),
                    Err(got) => gots.push(got),
                })+
                Err(closest(&value, gots))
            }
        }
    )*};
}

either_args! {
    Either<A, B>;
    Either3<A, B, C>;
}
