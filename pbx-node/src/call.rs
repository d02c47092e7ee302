//! `pbx_core::call`: `CallMapper`, `classify`, `toCallRequest` and the batch path `mapLines`
//! (the same names as the Python binding's `CallMapper`, `classify`, `to_call_request`,
//! `map_lines`).

use std::borrow::Cow;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::Location;
use pbx_core::call as core;
use pbx_core::cdr::{CdrParser as CoreParser, Lines};
use pbx_core::cdr_json::LineWriter;
use pbx_core::direction;
use pbx_core::views::{ClassificationView, MapOutcome};

use crate::Js;
use crate::args::{arg, opt_arg};
use crate::cdr::{Cdr, CdrParser, lines_arg};
use crate::config::Config;
use crate::direction::DirectionPolicy;
use crate::error::OrThrow;
use crate::extensions::ExtensionMap;

/// Classifies a call: direction, the rule that decided, owner extension, other party. `settings`
/// is a `CallMapper`, a loaded `Config` (their direction policy) or a `DirectionPolicy`
/// (default: pbx-core's). The Python binding's `classify(cdr, mapper)`.
#[napi(
    ts_args_type = "cdr: Cdr, settings?: CallMapper | Config | DirectionPolicy | undefined | null",
    ts_return_type = "Classification"
)]
pub fn classify(
    env: Env,
    cdr: Unknown<'_>,
    settings: Option<Unknown<'_>>,
) -> Result<Js<ClassificationView>> {
    let cdr: ClassInstance<Cdr> = arg(&env, "classify", "cdr", cdr)?;
    let settings: Option<
        Either3<ClassInstance<CallMapper>, ClassInstance<Config>, DirectionPolicy>,
    > = opt_arg(&env, "classify", "settings", settings)?;
    let c = match settings {
        Some(Either3::A(m)) => m.inner.classify(&cdr.inner),
        Some(Either3::B(config)) => direction::classify(&cdr.inner, &config.inner.direction),
        Some(Either3::C(p)) => direction::classify(&cdr.inner, &p.to_core()),
        None => direction::classify(&cdr.inner, &direction::DirectionPolicy::default()),
    };
    Ok(Js(ClassificationView::from(&c)))
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

fn map_lines_of(parser: &CoreParser, mapper: &core::CallMapper, lines: &Lines) -> Vec<MapOutcome> {
    let map = |(n, r): (u64, std::result::Result<_, _>)| {
        MapOutcome::new(Some(n), r.and_then(|cdr| mapper.map_at(&cdr, Some(n))))
    };
    lines.parse(parser).map(map).collect()
}

/// The objects `pbx-convert` prints, as the text of one JSON array, written in Rust without
/// building any JS object.
fn map_lines_json_of(parser: &CoreParser, mapper: &core::CallMapper, lines: &Lines) -> String {
    let out = LineWriter::new(parser, mapper).write_array(lines.numbered());
    // serde_json writes UTF-8, and the punctuation around it is ASCII.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The `mapper` argument of the batch functions: a `CallMapper` or a loaded `Config`.
type MapperArg<'v> = Either<ClassInstance<'v, CallMapper>, ClassInstance<'v, Config>>;

/// The mapper a `mapper` argument stands for (a configuration's, made for the call).
fn mapper_of<'a>(mapper: &'a MapperArg<'_>) -> Cow<'a, core::CallMapper> {
    match mapper {
        Either::A(m) => Cow::Borrowed(&m.inner),
        Either::B(c) => Cow::Owned(c.inner.call_mapper()),
    }
}

/// The `parser` and `input` arguments of a batch call.
fn batch_args(
    env: &Env,
    f: &str,
    parser: Unknown<'_>,
    input: Unknown<'_>,
) -> Result<(CoreParser, Lines<'static>)> {
    let parser: ClassInstance<CdrParser> = arg(env, f, "parser", parser)?;
    Ok((parser.inner.clone(), lines_arg(env, f, input)?))
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
    #[napi(
        constructor,
        ts_args_type = "extensions?: ExtensionMap | undefined | null, options?: MapperOptions | undefined | null"
    )]
    pub fn new(
        env: Env,
        extensions: Option<Unknown<'_>>,
        options: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let extensions: Option<ClassInstance<ExtensionMap>> =
            opt_arg(&env, "new CallMapper", "extensions", extensions)?;
        let options: Option<MapperOptions> = opt_arg(&env, "new CallMapper", "options", options)?;
        let o = options.unwrap_or_default();
        let options = core::MappingCodes {
            timezone: o.timezone.as_deref(),
            default_region: o.default_region.as_deref(),
            internal_calls: o.internal_calls.as_deref(),
            number_format: o.number_format.as_deref(),
            call_id_prefix: o.call_id_prefix.as_deref(),
        }
        .options("defaultRegion")
        .or_throw(&env)?;
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
    #[napi(factory, ts_args_type = "config: Config")]
    pub fn from_config(env: Env, config: Unknown<'_>) -> Result<Self> {
        let config: ClassInstance<Config> = arg(&env, "CallMapper.fromConfig", "config", config)?;
        Ok(CallMapper {
            inner: config.inner.call_mapper(),
        })
    }

    /// Classifies a record with this mapper's direction policy.
    #[napi(ts_args_type = "cdr: Cdr", ts_return_type = "Classification")]
    pub fn classify(&self, env: Env, cdr: Unknown<'_>) -> Result<Js<ClassificationView>> {
        let cdr: ClassInstance<Cdr> = arg(&env, "CallMapper.classify", "cdr", cdr)?;
        Ok(Js(ClassificationView::from(
            &self.inner.classify(&cdr.inner),
        )))
    }

    /// Maps one record. Throws `PBX_PARSE_ERROR` (kind `InvalidValue`) when it lacks a start
    /// time or an id.
    #[napi(ts_args_type = "cdr: Cdr", ts_return_type = "MapResult")]
    pub fn map(&self, env: Env, cdr: Unknown<'_>) -> Result<Js<MapOutcome>> {
        let cdr: ClassInstance<Cdr> = arg(&env, "CallMapper.map", "cdr", cdr)?;
        map_cdr(&env, &self.inner, &cdr)
    }

    /// The decision trail of one record (`pbx_core::explain`: the same decisions `map`
    /// takes): `record` is a CDR line (read with `parser`, by default the 27-field layout)
    /// or a `Cdr`; the `Explanation` has `text`, its readable rendering. Never throws for a
    /// bad line: its `outcome.kind` is `refused`.
    #[napi(
        ts_args_type = "record: string | Cdr, parser?: CdrParser | undefined | null",
        ts_return_type = "Explanation"
    )]
    pub fn explain(
        &self,
        env: Env,
        record: Unknown<'_>,
        parser: Option<Unknown<'_>>,
    ) -> Result<serde_json::Value> {
        let f = "CallMapper.explain";
        let record: Either<String, ClassInstance<Cdr>> = arg(&env, f, "record", record)?;
        let parser: Option<ClassInstance<CdrParser>> = opt_arg(&env, f, "parser", parser)?;
        let explanation = match &record {
            Either::A(line) => {
                let parser = parser.map(|p| p.inner.clone()).unwrap_or_default();
                self.inner.explain_line(&parser, 1, line.as_bytes())
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
    #[napi(
        ts_args_type = "parser: CdrParser, input: string | Buffer | Array<string>",
        ts_return_type = "Array<LineOutcome>"
    )]
    pub fn map_lines(
        &self,
        env: Env,
        parser: Unknown<'_>,
        input: Unknown<'_>,
    ) -> Result<Js<Vec<MapOutcome>>> {
        let (parser, lines) = batch_args(&env, "CallMapper.mapLines", parser, input)?;
        Ok(Js(map_lines_of(&parser, &self.inner, &lines)))
    }

    /// The bulk form of `mapLines`: the outcomes as the text of one JSON array (for
    /// `JSON.parse`), one object per line — `line` and one of `call`, `skipped` (the reason in
    /// words) or `error` (`field`, `value`, `message`): the objects `pbx-convert` prints. Much
    /// faster than `mapLines` for big batches (no JS object is built per field); a blank
    /// element of an array is a `skipped` line (`"blank line"`).
    #[napi(ts_args_type = "parser: CdrParser, input: string | Buffer | Array<string>")]
    pub fn map_lines_json(
        &self,
        env: Env,
        parser: Unknown<'_>,
        input: Unknown<'_>,
    ) -> Result<String> {
        let (parser, lines) = batch_args(&env, "CallMapper.mapLinesJson", parser, input)?;
        Ok(map_lines_json_of(&parser, &self.inner, &lines))
    }

    /// `mapLines` on the libuv thread pool, for big batches.
    #[napi(
        ts_args_type = "parser: CdrParser, input: string | Buffer | Array<string>",
        ts_return_type = "Promise<LineOutcome[]>"
    )]
    pub fn map_lines_async(
        &self,
        env: Env,
        parser: Unknown<'_>,
        input: Unknown<'_>,
    ) -> Result<AsyncTask<MapLinesTask>> {
        let (parser, lines) = batch_args(&env, "CallMapper.mapLinesAsync", parser, input)?;
        let mapper = self.inner.clone();
        Ok(AsyncTask::new(MapLinesTask {
            parser,
            mapper,
            lines,
        }))
    }
}

/// Maps one record, an error placed at its line.
fn map_cdr(env: &Env, mapper: &core::CallMapper, cdr: &Cdr) -> Result<Js<MapOutcome>> {
    let mapped = mapper.map_at(&cdr.inner, cdr.line).or_throw(env)?;
    Ok(Js(MapOutcome::new(None, Ok(mapped))))
}

/// `CallMapper.mapLinesAsync`.
pub struct MapLinesTask {
    parser: CoreParser,
    mapper: core::CallMapper,
    lines: Lines<'static>,
}

impl Task for MapLinesTask {
    type Output = Vec<MapOutcome>;
    type JsValue = Js<Vec<MapOutcome>>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(map_lines_of(&self.parser, &self.mapper, &self.lines))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(Js(output))
    }
}

/// Maps one record to the call API's `PbxCallRequest` (in `call`) or a skip with its reason,
/// with `mapper`: a `CallMapper`, or a loaded `Config` (its mapper); default: an empty
/// extension map and pbx-core's defaults, so every call is skipped for want of an owner email.
/// The Python binding's `to_call_request(cdr, mapper)`.
#[napi(
    ts_args_type = "cdr: Cdr, mapper?: CallMapper | Config | undefined | null",
    ts_return_type = "MapResult"
)]
pub fn to_call_request(
    env: Env,
    cdr: Unknown<'_>,
    mapper: Option<Unknown<'_>>,
) -> Result<Js<MapOutcome>> {
    let cdr: ClassInstance<Cdr> = arg(&env, "toCallRequest", "cdr", cdr)?;
    let mapper: Option<MapperArg> = opt_arg(&env, "toCallRequest", "mapper", mapper)?;
    let mapper = mapper.as_ref().map(mapper_of).unwrap_or_default();
    map_cdr(&env, &mapper, &cdr)
}

/// `mapper.mapLines(parser, input)` as a function: parses and maps a batch in one call (the
/// Python binding's `map_lines(parser, lines, mapper)`). `mapper` is a `CallMapper` or a
/// loaded `Config`. Never throws for a bad line: its entry has `error`.
#[napi(
    ts_args_type = "parser: CdrParser, input: string | Buffer | Array<string>, mapper: CallMapper | Config",
    ts_return_type = "Array<LineOutcome>"
)]
pub fn map_lines(
    env: Env,
    parser: Unknown<'_>,
    input: Unknown<'_>,
    mapper: Unknown<'_>,
) -> Result<Js<Vec<MapOutcome>>> {
    let (parser, lines) = batch_args(&env, "mapLines", parser, input)?;
    let mapper: MapperArg = arg(&env, "mapLines", "mapper", mapper)?;
    Ok(Js(map_lines_of(&parser, &mapper_of(&mapper), &lines)))
}

/// `mapper.mapLinesJson(parser, input)` as a function (the Python binding's
/// `map_lines_json(parser, lines, mapper)`).
#[napi(
    ts_args_type = "parser: CdrParser, input: string | Buffer | Array<string>, mapper: CallMapper | Config"
)]
pub fn map_lines_json(
    env: Env,
    parser: Unknown<'_>,
    input: Unknown<'_>,
    mapper: Unknown<'_>,
) -> Result<String> {
    let (parser, lines) = batch_args(&env, "mapLinesJson", parser, input)?;
    let mapper: MapperArg = arg(&env, "mapLinesJson", "mapper", mapper)?;
    Ok(map_lines_json_of(&parser, &mapper_of(&mapper), &lines))
}

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

crate::args::object_args! {
    MapperOptions: "an object of mapper options";
}
