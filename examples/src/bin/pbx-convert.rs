//! `pbx-convert`: reads 3CX CDR lines from a file or stdin and writes one JSON object per input
//! line to stdout:
//!
//! - `{"line":N,"call":{…PbxCallRequest…}}` for a call to deliver,
//! - `{"line":N,"skipped":"<reason>"}` for a call not to deliver (internal, no owner, …) or a
//!   blank line,
//! - `{"line":N,"error":{"field":…,"value":…,"message":…}}` for a line that cannot be read.
//!
//! Bad lines never stop the others; the exit code is 0 unless the arguments are unusable
//! (2) or the input cannot be read (1), with a one-line message on stderr.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pbx_core::call::{CallMapper, InternalCalls, parse_timezone};
use pbx_core::cdr::{CdrParser, FieldTemplate};
use pbx_core::extensions::ExtensionMap;
use pbx_core::jsonl::LineWriter;
use pbx_core::phone::Region;
use serde::Deserialize;

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

    /// A YAML file mapping extensions to users (`extensions: {"101": email | {email, name}}`).
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
}

#[derive(Deserialize)]
struct ExtensionsFile {
    extensions: ExtensionMap,
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
    let input: Box<dyn BufRead> = match args.input.as_deref() {
        None => Box::new(io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin().lock()),
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("pbx-convert: cannot read {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
    };
    match convert(input, &parser, &mapper) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (e.g. `| head`): nothing more to say.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pbx-convert: {e}");
            ExitCode::from(1)
        }
    }
}

fn setup(args: &Args) -> Result<(CdrParser, CallMapper), String> {
    let template: FieldTemplate = args
        .template
        .parse()
        .map_err(|e| format!("--template: {e}"))?;
    let mut mapper = CallMapper::default();
    mapper.options.timezone =
        parse_timezone("--timezone", &args.timezone).map_err(|e| e.to_string())?;
    mapper.options.default_region =
        Region::parse("--default-region", &args.default_region).map_err(|e| e.to_string())?;
    if let Some(path) = &args.extensions {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --extensions {}: {e}", path.display()))?;
        let file: ExtensionsFile = serde_saphyr::from_str(&text)
            .map_err(|e| format!("--extensions {}: {e}", path.display()))?;
        mapper.extensions = file.extensions;
    }
    mapper.direction.trunk_dns.clone_from(&args.trunk_dns);
    mapper.direction.service_dns.clone_from(&args.service_dns);
    if args.include_internal {
        mapper.options.internal_calls = InternalCalls::AsOutbound;
    }
    Ok((CdrParser::new(template), mapper))
}

fn convert(mut input: Box<dyn BufRead>, parser: &CdrParser, mapper: &CallMapper) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(1024);
    // The zero-copy path (pbx_core::jsonl): one input, one output buffer for every line.
    let mut writer = LineWriter::new(parser, mapper);
    let mut line_out = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        line_out.clear();
        writer.write_line(line_no, &buf, &mut line_out);
        line_out.push(b'\n');
        out.write_all(&line_out)?;
    }
    out.flush()
}
