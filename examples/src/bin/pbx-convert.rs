//! `pbx-convert`: reads 3CX CDR lines from a file or stdin and writes one JSON object per input
//! line to stdout:
//!
//! - `{"line":N,"call":{…PbxCallRequest…}}` for a call to deliver,
//! - `{"line":N,"skipped":"<reason>"}` for a call not to deliver (internal, no owner, …) or a
//!   blank line,
//! - `{"line":N,"error":{"field":…,"value":…,"message":…}}` for a line that cannot be read.
//!
//! With `--explain`, each line's decision trail instead (`pbx_core::explain`: the fields
//! used, the direction and owner with the rules that decided, the other party, the email's
//! source, the talk time, the outcome), as readable text with a blank line after each
//! record, or with `--json` as one JSON object per line (`{"line":N,"explain":{…}}`).
//!
//! Bad lines never stop the others; the exit code is 0 unless the arguments are unusable
//! (2) or the input cannot be read (1), with a one-line message on stderr.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pbx_core::Location;
use pbx_core::call::{CallMapper, InternalCalls, MappingOptions, parse_timezone};
use pbx_core::cdr::{CdrParser, FieldTemplate};
use pbx_core::cdr_json::LineWriter;
use pbx_core::direction::DirectionPolicy;
use pbx_core::extensions::ExtensionMap;
use pbx_core::phone::Region;

/// Convert 3CX CDR lines into call-logger API call requests (JSON lines).
#[derive(Parser, Debug)]
#[command(name = "pbx-convert", version)]
struct Args {
    /// The CDR file to read; stdin when absent or `-`.
    input: Option<PathBuf>,

    /// The field layout: `20`, `27`, or a comma list of 3CX field names in order.
    #[arg(long, default_value = "27")]
    template: String,

    /// The PBX's IANA timezone; call timestamps carry its offset.
    #[arg(long, default_value = "UTC")]
    timezone: String,

    /// A YAML file mapping extensions to users: a flat `"101": email` map,
    /// `extensions: {"101": email | {email, name}}`, or the configuration's
    /// `extensions: {map: …, default_email: …}`; checked like the sideloader's `extensions.map`.
    #[arg(long)]
    extensions: Option<PathBuf>,

    /// The default country (ISO 3166 alpha-2) for phone numbers: `phoneNumber` is E.164, and
    /// numbers written without a country code belong to this country.
    #[arg(long, default_value = "US")]
    default_region: String,

    /// DNs of trunks/lines (comma list), used when a record has no type fields.
    #[arg(long, value_delimiter = ',')]
    trunk_dns: Vec<String>,

    /// DNs of queues, ring groups, IVRs and voicemail (comma list): never a call's owner.
    #[arg(long, value_delimiter = ',')]
    service_dns: Vec<String>,

    /// Send internal calls (as OUTBOUND from the caller) instead of skipping them.
    #[arg(long)]
    include_internal: bool,

    /// Explain each line instead of converting it: the decision trail as readable text.
    #[arg(long)]
    explain: bool,

    /// With --explain: one JSON object per line (`{"line":N,"explain":{…}}`) instead of text.
    #[arg(long, requires = "explain")]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (parser, mapper) = match setup(&args) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("pbx-convert: {msg}");
            return ExitCode::from(2);
        }
    };
    let (input, name): (Box<dyn BufRead>, String) = match args.input.as_deref() {
        None => (Box::new(io::stdin().lock()), "stdin".into()),
        Some(p) if p.as_os_str() == "-" => (Box::new(io::stdin().lock()), "stdin".into()),
        Some(p) => match File::open(p) {
            Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
                eprintln!(
                    "pbx-convert: cannot read {}: it is a directory, not a CDR file",
                    p.display()
                );
                return ExitCode::from(1);
            }
            Ok(f) => (
                Box::new(BufReader::with_capacity(1 << 16, f)),
                p.display().to_string(),
            ),
            Err(e) => {
                eprintln!("pbx-convert: cannot read {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
    };
    let result = if args.explain {
        explain(input, &parser, &mapper, args.json)
    } else {
        convert(input, &parser, &mapper)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failed::Write(e)) => {
            eprintln!("pbx-convert: cannot write the output: {e}");
            ExitCode::from(1)
        }
        Err(Failed::Read(e)) => {
            eprintln!("pbx-convert: cannot read {name}: {e}");
            ExitCode::from(1)
        }
    }
}

fn setup(args: &Args) -> Result<(CdrParser, CallMapper), String> {
    let template: FieldTemplate = args
        .template
        .parse()
        .map_err(|e| format!("--template: {e}"))?;
    let mut options = MappingOptions {
        timezone: parse_timezone("--timezone", &args.timezone).map_err(|e| e.to_string())?,
        default_region: Region::parse("--default-region", &args.default_region)
            .map_err(|e| e.to_string())?,
        ..MappingOptions::default()
    };
    if args.include_internal {
        options.internal_calls = InternalCalls::AsOutbound;
    }
    let mut extensions = ExtensionMap::default();
    if let Some(path) = &args.extensions {
        // Bounded (`--extensions /dev/zero` must not grow memory) and checked like the
        // sideloader's `extensions.map` (one email validation for both programs); a flat
        // `"101": email` map, `extensions: {…}`, or the configuration's shape.
        let text =
            pbx_sources::bounded::read_file_limited(path, pbx_core::config::MAX_CONFIG_BYTES)
                .map_err(|e| format!("--extensions: {e}"))?;
        extensions = pbx_core::config::extensions_from_yaml(&text)
            .map_err(|e| format!("--extensions {}: {e}", path.display()))?;
    }
    let mut direction = DirectionPolicy::default();
    direction.trunk_dns.clone_from(&args.trunk_dns);
    direction.service_dns.clone_from(&args.service_dns);
    let mapper = CallMapper::new(options, direction, extensions);
    Ok((CdrParser::new(template), mapper))
}

/// Why the conversion stopped: the input or the output failed.
enum Failed {
    Read(io::Error),
    Write(io::Error),
}

fn convert(
    mut input: Box<dyn BufRead>,
    parser: &CdrParser,
    mapper: &CallMapper,
) -> Result<(), Failed> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(1024);
    // The zero-copy path (pbx_core::cdr_json): one input, one output buffer for every line.
    let mut writer = LineWriter::new(parser, mapper);
    let mut line_out = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    // At most the parser's line limit (plus a line end) is kept: an endless line (or
    // /dev/zero) is skipped as it is read, never held whole.
    let max = pbx_core::cdr::DEFAULT_MAX_LINE_LEN;
    loop {
        buf.clear();
        let (n, _) = pbx_sources::bounded::read_line_bounded(&mut input, &mut buf, max + 2, |_| {})
            .map_err(Failed::Read)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        line_out.clear();
        if n > buf.len() {
            let e = pbx_core::Error::LineTooLong {
                at: Location::Line(line_no),
                len: n,
                max,
            };
            writer.write_error(line_no, &e, &mut line_out);
        } else {
            // A byte-order mark starting the input is not part of its first record.
            let line = if line_no == 1 {
                pbx_core::framing::strip_bom(&buf)
            } else {
                &buf
            };
            writer.write_line(line_no, line, &mut line_out);
        }
        line_out.push(b'\n');
        out.write_all(&line_out).map_err(Failed::Write)?;
    }
    out.flush().map_err(Failed::Write)
}

/// `--explain`: each line's decision trail (text, or one JSON object per line with `json`).
fn explain(
    mut input: Box<dyn BufRead>,
    parser: &CdrParser,
    mapper: &CallMapper,
    json: bool,
) -> Result<(), Failed> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    let max = pbx_core::cdr::DEFAULT_MAX_LINE_LEN;
    loop {
        buf.clear();
        let (n, _) = pbx_sources::bounded::read_line_bounded(&mut input, &mut buf, max + 2, |_| {})
            .map_err(Failed::Read)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let explanation = if n > buf.len() {
            pbx_core::explain::Explanation::refused(pbx_core::Error::LineTooLong {
                at: Location::Line(line_no),
                len: n,
                max,
            })
            .at(Location::Line(line_no).to_string())
        } else {
            let line = if line_no == 1 {
                pbx_core::framing::strip_bom(&buf)
            } else {
                &buf
            };
            mapper.explain_line(parser, line_no, line)
        };
        /// One output line: the line number, then the explanation (fields in order).
        #[derive(serde::Serialize)]
        struct Explained<'a> {
            line: u64,
            explain: &'a pbx_core::explain::Explanation,
        }
        let text = if json {
            // An explanation is strings and numbers: serializing it cannot fail.
            serde_json::to_string(&Explained {
                line: line_no,
                explain: &explanation,
            })
            .unwrap_or_default()
        } else {
            format!("{explanation}\n")
        };
        writeln!(out, "{text}").map_err(Failed::Write)?;
    }
    out.flush().map_err(Failed::Write)
}
