//! `pbx_core::phone`: `normalizeNumber`, `normalizeNumbers` (one crossing per batch) and
//! `normalizeNumbersAsync`.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::phone::{self as core, Normalized, NumberFormat, NumberPolicy, Region};

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

/// A normalized number: `kind` says which fields are set.
#[napi(object)]
pub struct NormalizedNumber {
    /// `e164` (an external number), `internal` (an extension), `anonymous` (withheld or
    /// blank) or `invalid`.
    #[napi(ts_type = "'e164' | 'internal' | 'anonymous' | 'invalid'")]
    pub kind: String,
    /// The number (`e164`, in the requested format) or the extension (`internal`).
    pub value: Option<String>,
    /// An extension written after an external number (`ext. 12`), digits only.
    pub extension: Option<String>,
    /// The input (`invalid`).
    pub raw: Option<String>,
    /// Why it is invalid: pbx-core's `InvalidReason` code (`not_a_party`, `not_a_number`,
    /// `invalid_country_code`, `too_short`, `too_long`, `invalid_length`).
    #[napi(ts_type = "InvalidReason")]
    pub reason: Option<String>,
}

fn to_js(n: Normalized) -> NormalizedNumber {
    let kind = n.kind().to_owned();
    let mut out = NormalizedNumber {
        kind,
        value: n.value().map(str::to_owned),
        extension: None,
        raw: None,
        reason: None,
    };
    match n {
        Normalized::E164 { extension, .. } => out.extension = extension,
        Normalized::Invalid { raw, reason } => {
            out.raw = Some(raw);
            out.reason = Some(reason.code().to_owned());
        }
        _ => {}
    }
    out
}

fn policy(env: &Env, options: Option<NumberOptions>) -> Result<NumberPolicy> {
    let o = options.unwrap_or_default();
    let mut p = NumberPolicy::default();
    if let Some(r) = &o.default_region {
        p.default_region = Region::parse("defaultRegion", r).or_throw(env)?;
    }
    if let Some(f) = &o.format {
        p.format = f.parse::<NumberFormat>().or_throw(env)?;
    }
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

/// The `options` argument of `function`; never silently the defaults for a wrong type.
fn options_arg(
    env: &Env,
    function: &str,
    options: Option<Unknown<'_>>,
) -> Result<Option<NumberOptions>> {
    Ok(opt_arg::<OptionsArg>(env, function, "options", options)?.map(|o| o.0))
}

/// Normalizes one number (E.164 with a default region, or an extension, withheld, invalid).
/// `options` may be the default region alone (`'AU'`). Throws `PBX_INVALID_ARGUMENT` for an
/// unknown region or format, and a `TypeError` for an argument of the wrong type.
#[napi(ts_args_type = "raw: string, options?: NumberOptions | string")]
pub fn normalize_number(
    env: Env,
    raw: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<NormalizedNumber> {
    let raw: String = arg(&env, "normalizeNumber", "raw", raw)?;
    let options = options_arg(&env, "normalizeNumber", options)?;
    let p = policy(&env, options)?;
    Ok(to_js(core::normalize(&raw, &p)))
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
    let raws = arg::<Vec<String>>(env, "normalizeNumbers", "raws", raws)?;
    let options = options_arg(env, "normalizeNumbers", options)?;
    let p = policy(env, options)?;
    compact(env, &compact_values(&raws, &p))
}

/// The answers of a batch in one buffer: the values end to end, and per input `None` or the
/// value's span.
struct Compact {
    values: String,
    spans: Vec<Option<(usize, usize)>>,
}

fn compact_values(raws: &[String], p: &NumberPolicy) -> Compact {
    let mut values = String::with_capacity(raws.len() * 12);
    let spans = raws
        .iter()
        .map(|raw| {
            core::normalize_ref(raw, p, None, |n| {
                n.value().map(|v| {
                    let start = values.len();
                    values.push_str(v);
                    (start, values.len())
                })
            })
        })
        .collect();
    Compact { values, spans }
}

/// A JS array of strings and nulls, each string made from the shared buffer.
fn compact<'env>(env: &'env Env, c: &Compact) -> Result<Array<'env>> {
    let mut out = env.create_array(u32::try_from(c.spans.len()).unwrap_or(u32::MAX))?;
    for (i, span) in (0u32..).zip(&c.spans) {
        out.set(i, span.map(|(a, b)| &c.values[a..b]))?;
    }
    Ok(out)
}

/// Normalizes many numbers in one call; element `i` is `normalizeNumber(raws[i])` (the
/// convenient objects; `normalizeNumbers` is the faster bulk form). `options` may be the
/// default region alone (`'AU'`).
#[napi(ts_args_type = "raws: string[], options?: NumberOptions | string")]
pub fn normalize_numbers_detailed(
    env: Env,
    raws: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<Vec<NormalizedNumber>> {
    let raws = arg::<Vec<String>>(&env, "normalizeNumbersDetailed", "raws", raws)?;
    let options = options_arg(&env, "normalizeNumbersDetailed", options)?;
    let p = policy(&env, options)?;
    Ok(core::normalize_batch(&raws, &p)
        .into_iter()
        .map(to_js)
        .collect())
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
    let raws = arg::<Vec<String>>(&env, "normalizeNumbersAsync", "raws", raws)?;
    let options = options_arg(&env, "normalizeNumbersAsync", options)?;
    let policy = policy(&env, options)?;
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
        let c = compact_values(&self.raws, &self.policy);
        Ok(c.spans
            .into_iter()
            .map(|span| span.map(|(a, b)| c.values[a..b].to_owned()))
            .collect())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}
