//! `pbx_core::call`: `CallMapper`, `toCallRequest` and the batch path `mapLines` (the same
//! names as the Python binding's `CallMapper`, `to_call_request`, `map_lines`).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::Location;
use pbx_core::call::{self as core, InternalCalls, Mapped, SkipReason};
use pbx_core::cdr_json::LineWriter;
use pbx_core::phone::{NumberFormat, Region};

use crate::args::{arg, opt_arg};
use crate::cdr::{Cdr, CdrParser, Lines, line_no};
use crate::config::Config;
use crate::direction::{self, Classification, DirectionPolicy};
use crate::error::{OrThrow, PbxErrorInfo};
use crate::extensions::ExtensionMap;

/// The call API's `PbxCallRequest`: `JSON.stringify` of it is exactly the request body.
#[napi(object)]
pub struct CallRequest {
    /// The other party's number (E.164 for an external number).
    pub phone_number: String,
    /// Talk time in whole seconds; 0 when unanswered.
    pub call_duration: i64,
    /// The extension that owns the call.
    pub call_owner_extension: String,
    /// That extension's user email.
    pub call_owner_email: String,
    /// `INBOUND` or `OUTBOUND`.
    #[napi(ts_type = "CallDirection")]
    pub call_direction: String,
    /// Call start, RFC 3339 in the PBX's timezone, milliseconds, with offset.
    pub timestamp: String,
    /// The idempotency key.
    pub pbx_call_id: String,
}

/// A skipped call: the stable reason and the message.
#[napi(object)]
pub struct Skip {
    /// Stable code: pbx-core's `SkipReason` code.
    #[napi(ts_type = "SkipCode")]
    pub reason: String,
    /// In words, e.g. `internal call (internal calls are not sent)`.
    pub message: String,
    /// The extension, for `NO_OWNER_EMAIL`.
    pub extension: Option<String>,
}

/// The result of mapping one record: exactly one of `call` and `skipped`.
#[napi(object)]
pub struct MapResult {
    /// The call to deliver.
    pub call: Option<CallRequest>,
    /// Why the call is not delivered.
    pub skipped: Option<Skip>,
}

/// The outcome for one line of `mapLines`: exactly one of `call`, `skipped`, `error`
/// (the shape `pbx-convert` prints).
#[napi(object)]
pub struct LineOutcome {
    /// The 1-based line number.
    pub line: i64,
    /// The call to deliver.
    pub call: Option<CallRequest>,
    /// Why the call is not delivered.
    pub skipped: Option<Skip>,
    /// Why the line could not be read or mapped.
    pub error: Option<PbxErrorInfo>,
}

/// Settings of a `CallMapper`; a missing field keeps pbx-core's default.
#[napi(object)]
#[derive(Default)]
pub struct MapperOptions {
    /// The PBX's IANA timezone (default `UTC`); `timestamp` carries its offset.
    pub timezone: Option<String>,
    /// The region of numbers written without a country code (default `US`).
    pub default_region: Option<String>,
    /// How `phoneNumber` is written for an external number (default `e164`).
    #[napi(ts_type = "NumberFormat")]
    pub number_format: Option<String>,
    /// `skip` internal calls (default) or send them `as_outbound` (pbx-core's `InternalCalls`
    /// codes; `asOutbound` is accepted too).
    #[napi(ts_type = "InternalCalls | 'asOutbound'")]
    pub internal_calls: Option<String>,
    /// The prefix of `pbxCallId` (default `3cx`).
    pub call_id_prefix: Option<String>,
    /// How to tell directions when type fields do not.
    pub direction: Option<DirectionPolicy>,
}

fn to_call(c: &core::CallRequest) -> CallRequest {
    CallRequest {
        phone_number: c.phone_number.clone(),
        call_duration: i64::try_from(c.call_duration).unwrap_or(i64::MAX),
        call_owner_extension: c.call_owner_extension.clone(),
        call_owner_email: c.call_owner_email.clone(),
        call_direction: c.call_direction.code().to_owned(),
        timestamp: c.timestamp.clone(),
        pbx_call_id: c.pbx_call_id.clone(),
    }
}

fn to_skip(r: &SkipReason) -> Skip {
    Skip {
        reason: r.code().to_owned(),
        message: r.to_string(),
        extension: r.extension().map(str::to_owned),
    }
}

fn to_result(m: &Mapped) -> MapResult {
    MapResult {
        call: m.call().map(to_call),
        skipped: m.skip_reason().map(to_skip),
    }
}

type LineResults = Vec<(u64, std::result::Result<Mapped, pbx_core::Error>)>;

fn to_outcomes(results: LineResults) -> Vec<LineOutcome> {
    results
        .into_iter()
        .map(|(n, r)| {
            let mut out = LineOutcome {
                line: line_no(n),
                call: None,
                skipped: None,
                error: None,
            };
            match r {
                Ok(m) => {
                    let m = to_result(&m);
                    out.call = m.call;
                    out.skipped = m.skipped;
                }
                Err(e) => out.error = Some(PbxErrorInfo::from(&e)),
            }
            out
        })
        .collect()
}

fn run_map_lines(
    parser: &pbx_core::cdr::CdrParser,
    mapper: &core::CallMapper,
    lines: &Lines,
) -> LineResults {
    lines
        .parse(parser)
        .into_iter()
        .map(|(n, r)| {
            let mapped = r
                .and_then(|cdr| mapper.map(&cdr))
                .map_err(|e| e.located(Location::Line(n)));
            (n, mapped)
        })
        .collect()
}

/// The bulk form of `mapLines`: one JSON array with one object per line — `line` and one of
/// `call`, `skipped` (the reason in words) or `error` (`field`, `value`, `message`), the objects
/// `pbx-convert` prints — written in Rust without building any JS object.
fn run_map_lines_json(
    parser: &pbx_core::cdr::CdrParser,
    mapper: &core::CallMapper,
    lines: &Lines,
) -> String {
    let out = LineWriter::new(parser, mapper).write_array(lines.numbered());
    // serde_json writes UTF-8, and the punctuation around it is ASCII.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Maps CDRs to call requests: direction, owner, other party, owner email, timestamp in the
/// PBX's timezone, `pbxCallId`.
#[napi]
#[derive(Clone)]
pub struct CallMapper {
    pub(crate) inner: core::CallMapper,
}

#[napi]
impl CallMapper {
    /// A mapper with an extension map (default: empty) and options. Throws
    /// `PBX_INVALID_ARGUMENT` for an unknown timezone, region, number format or
    /// `internalCalls` value.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "ExtensionMap | undefined | null")] extensions: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "MapperOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let extensions: Option<ClassInstance<ExtensionMap>> =
            opt_arg(&env, "new CallMapper", "extensions", extensions)?;
        let options: Option<MapperOptions> = opt_arg(&env, "new CallMapper", "options", options)?;
        let o = options.unwrap_or_default();
        let mut options = core::MappingOptions::default();
        if let Some(tz) = &o.timezone {
            options.timezone = core::parse_timezone("timezone", tz).or_throw(&env)?;
        }
        if let Some(r) = &o.default_region {
            options.default_region = Region::parse("defaultRegion", r).or_throw(&env)?;
        }
        if let Some(f) = &o.number_format {
            options.number_format = f.parse::<NumberFormat>().or_throw(&env)?;
        }
        if let Some(i) = &o.internal_calls {
            options.internal_calls = i.parse::<InternalCalls>().or_throw(&env)?;
        }
        if let Some(p) = o.call_id_prefix {
            options.call_id_prefix = p;
        }
        let direction = o
            .direction
            .as_ref()
            .map(DirectionPolicy::to_core)
            .unwrap_or_default();
        let extensions = extensions.map(|x| x.inner.clone()).unwrap_or_default();
        Ok(CallMapper {
            inner: core::CallMapper::new(options, direction, extensions),
        })
    }

    /// The mapper a loaded configuration describes (timezone, extension map, direction
    /// policy, internal calls, default region).
    #[napi(factory)]
    pub fn from_config(
        env: Env,
        #[napi(ts_arg_type = "Config")] config: Unknown<'_>,
    ) -> Result<Self> {
        let config: ClassInstance<Config> = arg(&env, "CallMapper.fromConfig", "config", config)?;
        Ok(CallMapper {
            inner: config.inner.call_mapper(),
        })
    }

    /// Classifies a record with this mapper's direction policy.
    #[napi]
    pub fn classify(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Cdr")] cdr: Unknown<'_>,
    ) -> Result<Classification> {
        let cdr: ClassInstance<Cdr> = arg(&env, "CallMapper.classify", "cdr", cdr)?;
        Ok(direction::to_js(&self.inner.classify(&cdr.inner)))
    }

    /// Maps one record. Throws `PBX_PARSE_ERROR` (kind `InvalidValue`) when it lacks a start
    /// time or an id.
    #[napi]
    pub fn map(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Cdr")] cdr: Unknown<'_>,
    ) -> Result<MapResult> {
        let cdr: ClassInstance<Cdr> = arg(&env, "CallMapper.map", "cdr", cdr)?;
        self.inner
            .map(&cdr.inner)
            .map_err(|e| cdr.locate(e))
            .map(|m| to_result(&m))
            .or_throw(&env)
    }

    /// The decision trail of one record (`pbx_core::explain`: the same decisions `map`
    /// takes): `record` is a CDR line (read with `parser`, by default the 27-field layout)
    /// or a `Cdr`. Returns the explanation as a plain object (`pbxCallId`… as Python's
    /// `CallMapper.explain`: snake_case keys, the JSON `pbx-sideloader explain --json`
    /// prints) with `text`, its readable rendering. Never throws for a bad line: its
    /// `outcome.kind` is `refused`.
    #[napi(ts_return_type = "Explanation")]
    pub fn explain(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string | Cdr")] record: Unknown<'_>,
        #[napi(ts_arg_type = "CdrParser | undefined | null")] parser: Option<Unknown<'_>>,
    ) -> Result<serde_json::Value> {
        let f = "CallMapper.explain";
        let record: Either<String, ClassInstance<Cdr>> = arg(&env, f, "record", record)?;
        let parser: Option<ClassInstance<CdrParser>> = opt_arg(&env, f, "parser", parser)?;
        let explanation = match &record {
            Either::A(line) => {
                let default;
                let parser = match &parser {
                    Some(p) => &p.inner,
                    None => {
                        default = pbx_core::cdr::CdrParser::default();
                        &default
                    }
                };
                self.inner.explain_line(parser, 1, line.as_bytes())
            }
            Either::B(cdr) => {
                let e = self.inner.explain(&cdr.inner);
                match cdr.line {
                    Some(n) => e.at(Location::Line(n).to_string()),
                    None => e,
                }
            }
        };
        explanation_value(serde_json::to_value(&explanation), explanation.to_string())
    }

    /// Parses and maps a batch in one call (text, `Buffer` or array of lines, as
    /// `CdrParser.parseLines`). Never throws for a bad line: its entry has `error`.
    #[napi]
    pub fn map_lines(
        &self,
        env: Env,
        #[napi(ts_arg_type = "CdrParser")] parser: Unknown<'_>,
        #[napi(ts_arg_type = "string | Buffer | Array<string>")] input: Unknown<'_>,
    ) -> Result<Vec<LineOutcome>> {
        let f = "CallMapper.mapLines";
        let parser: ClassInstance<CdrParser> = arg(&env, f, "parser", parser)?;
        let input = Lines::arg(&env, f, input)?;
        Ok(to_outcomes(run_map_lines(
            &parser.inner,
            &self.inner,
            &input,
        )))
    }

    /// The bulk form of `mapLines`: the outcomes as the text of one JSON array (for
    /// `JSON.parse`), one object per line — `line` and one of `call`, `skipped` (the reason in
    /// words) or `error` (`field`, `value`, `message`): the objects `pbx-convert` prints. Much
    /// faster than `mapLines` for big batches (no JS object is built per field); a blank
    /// element of an array is a `skipped` line (`"blank line"`).
    #[napi]
    pub fn map_lines_json(
        &self,
        env: Env,
        #[napi(ts_arg_type = "CdrParser")] parser: Unknown<'_>,
        #[napi(ts_arg_type = "string | Buffer | Array<string>")] input: Unknown<'_>,
    ) -> Result<String> {
        let f = "CallMapper.mapLinesJson";
        let parser: ClassInstance<CdrParser> = arg(&env, f, "parser", parser)?;
        let input = Lines::arg(&env, f, input)?;
        Ok(run_map_lines_json(&parser.inner, &self.inner, &input))
    }

    /// `mapLines` on the libuv thread pool, for big batches.
    #[napi(ts_return_type = "Promise<LineOutcome[]>")]
    pub fn map_lines_async(
        &self,
        env: Env,
        #[napi(ts_arg_type = "CdrParser")] parser: Unknown<'_>,
        #[napi(ts_arg_type = "string | Buffer | Array<string>")] input: Unknown<'_>,
    ) -> Result<AsyncTask<MapLinesTask>> {
        let f = "CallMapper.mapLinesAsync";
        let parser: ClassInstance<CdrParser> = arg(&env, f, "parser", parser)?;
        let lines = Lines::arg(&env, f, input)?;
        Ok(AsyncTask::new(MapLinesTask {
            parser: parser.inner.clone(),
            mapper: self.inner.clone(),
            lines,
        }))
    }
}

/// `CallMapper.mapLinesAsync`.
pub struct MapLinesTask {
    parser: pbx_core::cdr::CdrParser,
    mapper: core::CallMapper,
    lines: Lines,
}

impl Task for MapLinesTask {
    type Output = LineResults;
    type JsValue = Vec<LineOutcome>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(run_map_lines(&self.parser, &self.mapper, &self.lines))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_outcomes(output))
    }
}

/// Maps one record to the call API's `PbxCallRequest` (in `call`) or a skip with its reason,
/// with `mapper`: a `CallMapper`, or a loaded `Config` (its mapper); default: an empty
/// extension map and pbx-core's defaults, so every call is skipped for want of an owner email.
/// The Python binding's `to_call_request(cdr, mapper)`.
#[napi]
pub fn to_call_request(
    env: Env,
    #[napi(ts_arg_type = "Cdr")] cdr: Unknown<'_>,
    #[napi(ts_arg_type = "CallMapper | Config | undefined | null")] mapper: Option<Unknown<'_>>,
) -> Result<MapResult> {
    let cdr: ClassInstance<Cdr> = arg(&env, "toCallRequest", "cdr", cdr)?;
    let mapper: Option<MapperArg> = opt_arg(&env, "toCallRequest", "mapper", mapper)?;
    let owned;
    let m = match &mapper {
        Some(Either::A(m)) => &m.inner,
        Some(Either::B(c)) => {
            owned = c.inner.call_mapper();
            &owned
        }
        None => {
            owned = core::CallMapper::default();
            &owned
        }
    };
    m.map(&cdr.inner)
        .map_err(|e| cdr.locate(e))
        .map(|m| to_result(&m))
        .or_throw(&env)
}

/// `mapper.mapLines(parser, input)` as a function: parses and maps a batch in one call (the
/// Python binding's `map_lines(parser, lines, mapper)`). `mapper` is a `CallMapper` or a
/// loaded `Config`. Never throws for a bad line: its entry has `error`.
#[napi]
pub fn map_lines(
    env: Env,
    #[napi(ts_arg_type = "CdrParser")] parser: Unknown<'_>,
    #[napi(ts_arg_type = "string | Buffer | Array<string>")] input: Unknown<'_>,
    #[napi(ts_arg_type = "CallMapper | Config")] mapper: Unknown<'_>,
) -> Result<Vec<LineOutcome>> {
    let f = "mapLines";
    let parser: ClassInstance<CdrParser> = arg(&env, f, "parser", parser)?;
    let input = Lines::arg(&env, f, input)?;
    let mapper: MapperArg = arg(&env, f, "mapper", mapper)?;
    let owned;
    let m = match &mapper {
        Either::A(m) => &m.inner,
        Either::B(c) => {
            owned = c.inner.call_mapper();
            &owned
        }
    };
    Ok(to_outcomes(run_map_lines(&parser.inner, m, &input)))
}

/// `mapper.mapLinesJson(parser, input)` as a function (the Python binding's
/// `map_lines_json(parser, lines, mapper)`).
#[napi]
pub fn map_lines_json(
    env: Env,
    #[napi(ts_arg_type = "CdrParser")] parser: Unknown<'_>,
    #[napi(ts_arg_type = "string | Buffer | Array<string>")] input: Unknown<'_>,
    #[napi(ts_arg_type = "CallMapper | Config")] mapper: Unknown<'_>,
) -> Result<String> {
    let f = "mapLinesJson";
    let parser: ClassInstance<CdrParser> = arg(&env, f, "parser", parser)?;
    let input = Lines::arg(&env, f, input)?;
    let mapper: MapperArg = arg(&env, f, "mapper", mapper)?;
    let owned;
    let m = match &mapper {
        Either::A(m) => &m.inner,
        Either::B(c) => {
            owned = c.inner.call_mapper();
            &owned
        }
    };
    Ok(run_map_lines_json(&parser.inner, m, &input))
}

/// The `mapper` argument of the batch functions: a `CallMapper` or a loaded `Config`.
type MapperArg<'v> = Either<ClassInstance<'v, CallMapper>, ClassInstance<'v, Config>>;

/// An explanation as a plain object (its JSON), with `text` (its rendering).
pub(crate) fn explanation_value(
    explanation: serde_json::Result<serde_json::Value>,
    text: String,
) -> Result<serde_json::Value> {
    let mut value = explanation
        .map_err(|e| Error::from_reason(format!("cannot serialize the explanation: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("text".into(), serde_json::Value::String(text));
    }
    Ok(value)
}
