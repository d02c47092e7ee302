//! `pbx_core::phone`: `normalizeNumber`, `normalizeNumbers` (one crossing per batch) and
//! `normalizeNumbersAsync`.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::phone::{self as core, Normalized, NormalizedValues, NumberPolicy};

use crate::Js;
use crate::args::{FromArg, arg, opt_arg};
use crate::direction::DirectionPolicy;
use crate::error::OrThrow;

/// How numbers are normalized; a missing field keeps pbx-core's default.
#[napi(object)]
#[derive(Default)]
pub struct NumberOptions {
    /// The region of numbers written without a country code (default `US`).
    pub default_region: Option<String>,
    /// How an external number is written (default `e164`).
    #[napi(ts_type = "NumberFormat")]
    pub format: Option<String>,
    /// Which bare numbers are extensions (the direction policy's rule).
    pub extensions: Option<DirectionPolicy>,
}

/// The policy the `options` argument of `function` asks for; never silently the defaults for
/// an argument of the wrong type.
fn policy(env: &Env, function: &str, options: Option<Unknown<'_>>) -> Result<NumberPolicy> {
    let options = opt_arg::<OptionsArg>(env, function, "options", options)?;
    let o = options.map(|o| o.0).unwrap_or_default();
    let (region, format) = (o.default_region.as_deref(), o.format.as_deref());
    let mut p = NumberPolicy::from_codes("defaultRegion", region, format).or_throw(env)?;
    if let Some(d) = &o.extensions {
        p.extensions = d.to_core();
    }
    Ok(p)
}

/// The `options` argument of the phone functions: a [`NumberOptions`] object, or the default
/// region alone as a string (`'AU'`, as Python's `normalize_numbers(numbers, "AU")`).
struct OptionsArg(NumberOptions);

impl<'v> FromArg<'v> for OptionsArg {
    fn expected() -> String {
        "an object {defaultRegion, format, extensions} or a region string like 'AU'".to_owned()
    }

    fn from_arg(value: Unknown<'v>) -> std::result::Result<Self, String> {
        match String::from_arg(value) {
            Ok(region) => Ok(OptionsArg(NumberOptions {
                default_region: Some(region),
                ..NumberOptions::default()
            })),
            Err(_) => NumberOptions::from_arg(value).map(OptionsArg),
        }
    }
}

/// The `raws` and `options` arguments of the batch functions.
fn batch_args(
    env: &Env,
    function: &str,
    raws: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<(Vec<String>, NumberPolicy)> {
    let raws = arg(env, function, "raws", raws)?;
    Ok((raws, policy(env, function, options)?))
}

/// Normalizes one number (E.164 with a default region, or an extension, withheld, invalid).
/// `options` may be the default region alone (`'AU'`). Throws `PBX_INVALID_ARGUMENT` for an
/// unknown region or format, and a `TypeError` for an argument of the wrong type.
#[napi(
    ts_args_type = "raw: string, options?: NumberOptions | string",
    ts_return_type = "NormalizedNumber"
)]
pub fn normalize_number(
    env: Env,
    raw: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<Js<Normalized>> {
    let raw: String = arg(&env, "normalizeNumber", "raw", raw)?;
    let p = policy(&env, "normalizeNumber", options)?;
    Ok(Js(core::normalize(&raw, &p)))
}

/// Normalizes many numbers in one call — the bulk form: element `i` is
/// `normalizeNumber(raws[i]).value ?? null` (the number in the requested format or the
/// extension; `null` for a withheld or invalid number), a plain string per item. For the whole
/// `NormalizedNumber` objects, `normalizeNumbersDetailed`.
/// `options` may be the default region alone (`'AU'`).
#[napi(
    ts_args_type = "raws: string[], options?: NumberOptions | string",
    ts_return_type = "Array<string | null>"
)]
pub fn normalize_numbers<'env>(
    env: &'env Env,
    raws: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<Array<'env>> {
    let (raws, p) = batch_args(env, "normalizeNumbers", raws, options)?;
    // Each string made from the batch's one buffer.
    let values = NormalizedValues::new(&raws, &p);
    let mut out = env.create_array(u32::try_from(values.len()).unwrap_or(u32::MAX))?;
    for (i, value) in (0u32..).zip(values.iter()) {
        out.set(i, value)?;
    }
    Ok(out)
}

/// Normalizes many numbers in one call; element `i` is `normalizeNumber(raws[i])` (the
/// convenient objects; `normalizeNumbers` is the faster bulk form). `options` may be the
/// default region alone (`'AU'`).
#[napi(
    ts_args_type = "raws: string[], options?: NumberOptions | string",
    ts_return_type = "Array<NormalizedNumber>"
)]
pub fn normalize_numbers_detailed(
    env: Env,
    raws: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<Js<Vec<Normalized>>> {
    let (raws, p) = batch_args(&env, "normalizeNumbersDetailed", raws, options)?;
    Ok(Js(core::normalize_batch(&raws, &p)))
}

/// `normalizeNumbers` on the libuv thread pool, for big batches (the bulk form: strings and
/// nulls).
#[napi(
    ts_args_type = "raws: string[], options?: NumberOptions | string",
    ts_return_type = "Promise<Array<string | null>>"
)]
pub fn normalize_numbers_async(
    env: Env,
    raws: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<AsyncTask<NormalizeTask>> {
    let (raws, policy) = batch_args(&env, "normalizeNumbersAsync", raws, options)?;
    Ok(AsyncTask::new(NormalizeTask { raws, policy }))
}

/// `normalizeNumbersAsync`.
pub struct NormalizeTask {
    raws: Vec<String>,
    policy: NumberPolicy,
}

impl Task for NormalizeTask {
    type Output = Vec<Option<String>>;
    type JsValue = Vec<Option<String>>;

    fn compute(&mut self) -> Result<Self::Output> {
        let values = NormalizedValues::new(&self.raws, &self.policy);
        Ok(values.iter().map(|v| v.map(str::to_owned)).collect())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

crate::args::object_args! {
    NumberOptions: "an object {defaultRegion, format, extensions}";
}
