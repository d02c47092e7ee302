//! `pbx_core::cdr`: `CdrParser` and the parsed record `Cdr`.

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::cdr::{self as core, Lines};

use crate::Js;
use crate::args::{arg, opt_arg};
use crate::error::{OrThrow, PbxErrorInfo};

/// One parsed call record (3CX CDR). Times are UTC `Date`s; an empty field is `undefined`.
/// Pass it to `classify`, `toCallRequest` or `CallMapper.map`.
#[napi]
#[derive(Clone)]
pub struct Cdr {
    pub(crate) inner: core::Cdr,
    /// The line it was read from: errors about the record name it (as in Python).
    pub(crate) line: Option<u64>,
}

#[napi]
impl Cdr {
    /// The 1-based line it was read from (`undefined` when not read from a line).
    #[napi(getter)]
    pub fn line(&self) -> Option<i64> {
        self.line.map(line_no)
    }

    /// `historyid` without its `Call ` prefix.
    #[napi(getter)]
    pub fn history_id(&self) -> Option<String> {
        self.inner.history_id.clone()
    }

    /// `callid`.
    #[napi(getter)]
    pub fn call_id(&self) -> Option<String> {
        self.inner.call_id.clone()
    }

    /// `time-start` (UTC).
    #[napi(getter)]
    pub fn time_start(&self) -> Option<DateTime<Utc>> {
        self.inner.time_start
    }

    /// Whether the call was answered (a talk time or an answer time); Python's `is_answered`.
    #[napi(getter)]
    pub fn is_answered(&self) -> bool {
        self.inner.is_answered()
    }

    /// @deprecated The former name of `isAnswered`.
    #[napi(getter)]
    pub fn answered(&self) -> bool {
        self.inner.is_answered()
    }

    /// Talk time in whole seconds (0 when unanswered).
    #[napi(getter)]
    pub fn talk_seconds(&self) -> i64 {
        i64::try_from(self.inner.talk_seconds()).unwrap_or(i64::MAX)
    }

    /// Every field as a plain object (`CdrFields`; an empty field is left out).
    #[napi(ts_return_type = "CdrFields")]
    pub fn to_object<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        fn text<T: ToString>(v: &Option<T>) -> Option<String> {
            v.as_ref().map(T::to_string)
        }
        let (c, mut o) = (&self.inner, Object::new(env)?);
        macro_rules! set {
            ($($key:literal: $value:expr),* $(,)?) => {$(
                if let Some(v) = $value {
                    o.set($key, v)?;
                }
            )*};
        }
        set! {
            "historyId": c.history_id.as_deref(), "callId": c.call_id.as_deref(),
            "durationSeconds": c.duration.map(|d| d.as_secs_f64()),
            "timeStart": c.time_start, "timeAnswered": c.time_answered, "timeEnd": c.time_end,
            "reasonTerminated": text(&c.reason_terminated),
            "fromNo": text(&c.from_no), "toNo": text(&c.to_no),
            "fromDn": c.from_dn.as_deref(), "toDn": c.to_dn.as_deref(),
            "dialNo": text(&c.dial_no), "reasonChanged": text(&c.reason_changed),
            "finalNumber": text(&c.final_number), "finalDn": c.final_dn.as_deref(),
            "billCode": c.bill_code.as_deref(), "billRate": c.bill_rate.as_deref(),
            "billCost": c.bill_cost.as_deref(), "billName": c.bill_name.as_deref(),
            "chain": Some(c.chain.iter().map(ToString::to_string).collect::<Vec<_>>()),
            "fromType": text(&c.from_type), "toType": text(&c.to_type),
            "finalType": text(&c.final_type), "fromDispname": c.from_dispname.as_deref(),
            "toDispname": c.to_dispname.as_deref(), "finalDispname": c.final_dispname.as_deref(),
            "missedQueueCalls": c.missed_queue_calls.as_deref(),
        }
        Ok(o)
    }

    /// `JSON.stringify(cdr)` gives the plain object.
    #[napi(js_name = "toJSON", ts_return_type = "CdrFields")]
    pub fn to_json<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        self.to_object(env)
    }

    /// The record written back as one CDR line laid out as `template` (`"20"`, `"27"` or a
    /// comma list; default `"27"`).
    #[napi(ts_args_type = "template?: string | undefined | null")]
    pub fn to_line(&self, env: Env, template: Option<Unknown<'_>>) -> Result<String> {
        let template = opt_arg(&env, "Cdr.toLine", "template", template)?;
        let t = parse_template(&env, template)?;
        Ok(core::format_line(&self.inner, &t))
    }
}

/// The outcome for one line of a batch: `cdr` when it parsed, else `error`.
#[napi(object, object_from_js = false)]
pub struct ParsedLine {
    /// The 1-based line number (position in the text, or index + 1 in an array).
    pub line: i64,
    /// The record.
    pub cdr: Option<Cdr>,
    /// Why the line could not be read (`code` is `PBX_PARSE_ERROR`).
    #[napi(ts_type = "PbxErrorInfo")]
    pub error: Option<Js<PbxErrorInfo>>,
}

/// Reads the `input` argument of `function`: the text of a CDR file (`string` or `Buffer`) or
/// an array of lines (a `TypeError` naming it when it is neither).
pub(crate) fn lines_arg(env: &Env, function: &str, input: Unknown<'_>) -> Result<Lines<'static>> {
    Ok(match arg(env, function, "input", input)? {
        Either3::<String, Buffer, Vec<String>>::A(s) => Lines::text(s.into_bytes()),
        Either3::B(b) => Lines::text(b.to_vec()),
        Either3::C(v) => v.iter().collect(),
    })
}

fn line_no(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Each line's number and its parse result.
type Parsed = Vec<(u64, std::result::Result<core::Cdr, pbx_core::Error>)>;

fn to_parsed(results: Parsed) -> Vec<ParsedLine> {
    let parsed = |(n, r): (u64, std::result::Result<core::Cdr, pbx_core::Error>)| ParsedLine {
        line: line_no(n),
        error: r.as_ref().err().map(|e| Js(PbxErrorInfo::from(e))),
        cdr: r.ok().map(|inner| Cdr {
            inner,
            line: Some(n),
        }),
    };
    results.into_iter().map(parsed).collect()
}

pub(crate) fn parse_template(env: &Env, template: Option<String>) -> Result<core::FieldTemplate> {
    match template {
        None => Ok(core::FieldTemplate::default()),
        Some(t) => t.parse::<core::FieldTemplate>().or_throw(env),
    }
}

/// Options of a `CdrParser`.
#[napi(object)]
pub struct CdrParserOptions {
    /// The longest line accepted, in bytes (default 65 536).
    pub max_line_length: Option<u32>,
}

/// Parses 3CX CDR lines laid out as a field template (`"20"`, `"27"` — the default — or the
/// PBX's comma list of field names). Throws `PBX_INVALID_ARGUMENT` for an unusable template.
#[napi]
pub struct CdrParser {
    pub(crate) inner: core::CdrParser,
}

#[napi]
impl CdrParser {
    /// A parser for `template` (default `"27"`).
    #[napi(
        constructor,
        ts_args_type = "template?: string | undefined | null, options?: CdrParserOptions | undefined | null"
    )]
    pub fn new(
        env: Env,
        template: Option<Unknown<'_>>,
        options: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let template = opt_arg(&env, "new CdrParser", "template", template)?;
        let options: Option<CdrParserOptions> = opt_arg(&env, "new CdrParser", "options", options)?;
        let mut inner = core::CdrParser::new(parse_template(&env, template)?);
        if let Some(max) = options.and_then(|o| o.max_line_length) {
            inner = inner.with_max_line_len(max as usize);
        }
        Ok(CdrParser { inner })
    }

    /// The template's field names, in order.
    #[napi(getter)]
    pub fn fields(&self) -> Vec<&'static str> {
        self.inner.template().names()
    }

    /// Parses one line (`lineNo`, default 1, is used in errors and as `Cdr.line`). Throws
    /// `PBX_PARSE_ERROR` with `line`, `field` and `value`.
    #[napi(ts_args_type = "line: string, lineNo?: number | undefined | null")]
    pub fn parse_line(
        &self,
        env: Env,
        line: Unknown<'_>,
        line_no: Option<Unknown<'_>>,
    ) -> Result<Cdr> {
        let line: String = arg(&env, "CdrParser.parseLine", "line", line)?;
        let line_no: Option<u32> = opt_arg(&env, "CdrParser.parseLine", "lineNo", line_no)?;
        let n = u64::from(line_no.unwrap_or(1));
        let inner = self.inner.parse_line(n, &line).or_throw(&env)?;
        Ok(Cdr {
            inner,
            line: Some(n),
        })
    }

    /// Parses a batch in one call: a whole text (`string` or `Buffer`; blank lines are passed
    /// over) or an array of lines. Never throws for a bad line: its entry has `error`.
    #[napi(ts_args_type = "input: string | Buffer | Array<string>")]
    pub fn parse_lines(&self, env: Env, input: Unknown<'_>) -> Result<Vec<ParsedLine>> {
        let input = lines_arg(&env, "CdrParser.parseLines", input)?;
        Ok(to_parsed(input.parse(&self.inner).collect()))
    }

    /// `parseLines` on the libuv thread pool, for big batches.
    #[napi(
        ts_return_type = "Promise<ParsedLine[]>",
        ts_args_type = "input: string | Buffer | Array<string>"
    )]
    pub fn parse_lines_async(
        &self,
        env: Env,
        input: Unknown<'_>,
    ) -> Result<AsyncTask<ParseLinesTask>> {
        let input = lines_arg(&env, "CdrParser.parseLinesAsync", input)?;
        let parser = self.inner.clone();
        Ok(AsyncTask::new(ParseLinesTask {
            parser,
            lines: input,
        }))
    }
}

/// `CdrParser.parseLinesAsync`.
pub struct ParseLinesTask {
    parser: core::CdrParser,
    lines: Lines<'static>,
}

impl Task for ParseLinesTask {
    type Output = Parsed;
    type JsValue = Vec<ParsedLine>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(self.lines.parse(&self.parser).collect())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_parsed(output))
    }
}

/// The field names of a CDR template: `"20"`, `"27"` or a comma list of 3CX field names.
/// Throws `PBX_INVALID_ARGUMENT` naming the unknown field or the problem.
#[napi(ts_args_type = "template: string")]
pub fn template_fields(env: Env, template: Unknown<'_>) -> Result<Vec<&'static str>> {
    let template: String = arg(&env, "templateFields", "template", template)?;
    Ok(parse_template(&env, Some(template))?.names())
}

crate::args::object_args! {
    CdrParserOptions: "an object {maxLineLength}";
}
