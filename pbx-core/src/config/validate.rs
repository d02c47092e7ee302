//! Raw configuration → [`Config`], collecting every problem with its path.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde_json::Value;

use super::check::{Check, text};
use super::raw::{RawConfig, RawHours, V};
use super::{
    CallApiConfig, CheckpointConfig, Config, ConfigIssue, GroupsConfig, HoursConfig, SourceConfig,
    TableMapping, XapiConfig,
};
use crate::call::InternalCalls;
use crate::cdr::{Field, FieldTemplate};
use crate::direction::DirectionPolicy;
use crate::extensions::{ExtensionMap, OwnerFallback, User};
use crate::groups::MonitorConfig;
use crate::hours::{BusinessHours, Holiday, Interval, ObservedRule, Shift};
use crate::missed::{DEFAULT_ROUTE, MissedCalls, OutsideHours};
use crate::phone::Region;

pub(super) fn validate(raw: RawConfig, issues: &mut Vec<ConfigIssue>) -> Config {
    let mut c = Check::new(issues);
    let timezone = c.tz("pbx.timezone", &raw.pbx.timezone, Tz::UTC);
    let cdr_template = template(&mut c, &raw.pbx.cdr_template);
    let source = source(&mut c, &raw);
    let call_api = match &raw.call_api {
        None => {
            c.bad(
                "call_api",
                None,
                "is required (the call-logger API: base_url, token)",
            );
            CallApiConfig {
                base_url: String::new(),
                token: None,
                timeout: Duration::from_secs(10),
                concurrency: 4,
                max_attempts: 5,
                poison_after: Duration::from_secs(120),
                max_retry_after: Duration::from_secs(300),
                insecure_skip_tls_verify: false,
            }
        }
        Some(a) => CallApiConfig {
            base_url: c.url(
                "call_api.base_url",
                &a.base_url,
                "the call-logger API's address",
                true,
            ),
            token: c.secret("call_api.token", &a.token),
            timeout: c.secs("call_api.timeout_secs", &a.timeout_secs, 10, 1, 300),
            concurrency: c.number("call_api.concurrency", &a.concurrency, 4, 1, 64) as usize,
            max_attempts: c.number("call_api.max_attempts", &a.max_attempts, 5, 1, 100) as u32,
            poison_after: c.secs(
                "call_api.poison_after_secs",
                &a.poison_after_secs,
                120,
                0,
                86_400,
            ),
            max_retry_after: c.secs(
                "call_api.max_retry_after_secs",
                &a.max_retry_after_secs,
                300,
                1,
                86_400,
            ),
            insecure_skip_tls_verify: c.flag(
                "call_api.insecure_skip_tls_verify",
                &a.insecure_skip_tls_verify,
                false,
            ),
        },
    };
    let xapi = raw.xapi.as_ref().map(|x| XapiConfig {
        base_url: c.url("xapi.base_url", &x.base_url, "the PBX's address", false),
        client_id: c
            .req_text("xapi.client_id", &x.client_id, "the API user's client id")
            .unwrap_or_default(),
        client_secret: c.req_secret(
            "xapi.client_secret",
            &x.client_secret,
            "the API user's secret",
        ),
        refresh: c.secs("xapi.refresh_secs", &x.refresh_secs, 300, 10, 86_400),
        insecure_skip_tls_verify: c.flag(
            "xapi.insecure_skip_tls_verify",
            &x.insecure_skip_tls_verify,
            false,
        ),
    });

    let mut extensions = extension_entries(&mut c, "extensions.map", &raw.extensions.map);
    if let Some(default) = c.opt_text("extensions.default_email", &raw.extensions.default_email) {
        if looks_like_email(&default) {
            extensions = extensions.with_fallback(OwnerFallback::DefaultEmail(default));
        } else {
            c.bad(
                "extensions.default_email",
                raw.extensions.default_email.as_ref(),
                "is not an email address",
            );
        }
    }
    let extensions_from_xapi = c.flag("extensions.from_xapi", &raw.extensions.from_xapi, false);
    if extensions_from_xapi && xapi.is_none() {
        c.bad("extensions.from_xapi", None, "needs the xapi section");
    }

    let (direction, internal_calls) = direction(&mut c, &raw);
    let default_region = match c.opt_text("phone.default_region", &raw.phone.default_region) {
        None => Region::US,
        Some(r) => Region::parse("phone.default_region", &r).unwrap_or_else(|_| {
            c.bad(
                "phone.default_region",
                raw.phone.default_region.as_ref(),
                "is not a two-letter country code such as US (one libphonenumber knows)",
            );
            Region::US
        }),
    };

    let business_hours = raw
        .business_hours
        .as_ref()
        .map(|h| hours_config(&mut c, "business_hours", h, timezone));
    let missed_calls = missed_calls(&mut c, &raw, &direction);
    let g = &raw.groups;
    let groups = GroupsConfig {
        enabled: c.flag("groups.enabled", &g.enabled, false),
        interval: c.secs("groups.interval_secs", &g.interval_secs, 300, 10, 86_400),
        monitor: MonitorConfig {
            debounce: c.number("groups.debounce", &g.debounce, 2, 1, 100) as u32,
            include: c.list("groups.include", &g.include),
            exclude: c.list("groups.exclude", &g.exclude),
        },
        hours: g
            .hours
            .iter()
            .filter_map(|(id, h)| {
                match hours_config(&mut c, &format!("groups.hours.{id}"), h, timezone) {
                    HoursConfig::Schedule(bh) => Some((id.clone(), *bh)),
                    HoursConfig::FromXapi => None,
                }
            })
            .collect::<HashMap<_, _>>(),
    };
    if groups.enabled && business_hours.is_none() {
        c.bad(
            "business_hours",
            None,
            "is required when groups.enabled is true (or set business_hours.from_xapi)",
        );
    }
    if groups.enabled && xapi.is_none() {
        c.bad(
            "xapi",
            None,
            "is required when groups.enabled is true (groups come from 3CX)",
        );
    }
    if matches!(business_hours, Some(HoursConfig::FromXapi)) && xapi.is_none() {
        c.bad("business_hours.from_xapi", None, "needs the xapi section");
    }

    let checkpoint = match c
        .opt_text("checkpoint.kind", &raw.checkpoint.kind)
        .as_deref()
    {
        None | Some("file") => {
            // The PostgreSQL settings are unused here, but checked all the same.
            if c.opt_text("checkpoint.url", &raw.checkpoint.url).is_some() {
                c.postgres_url("checkpoint.url", &raw.checkpoint.url, "a postgres:// URL");
            }
            if let Some(v) = &raw.checkpoint.table {
                c.identifier("checkpoint.table", v, true);
            }
            CheckpointConfig::File {
                path: c
                    .opt_text("checkpoint.path", &raw.checkpoint.path)
                    .unwrap_or_else(|| "pbx-checkpoint.json".into()),
            }
        }
        Some("postgres") => CheckpointConfig::Postgres {
            url: c.postgres_url("checkpoint.url", &raw.checkpoint.url, "a postgres:// URL"),
            table: match &raw.checkpoint.table {
                Some(v) => c
                    .identifier("checkpoint.table", v, true)
                    .unwrap_or_default(),
                None => "pbx_checkpoint".into(),
            },
        },
        Some(_) => {
            c.bad(
                "checkpoint.kind",
                raw.checkpoint.kind.as_ref(),
                "is not a checkpoint store (file or postgres)",
            );
            CheckpointConfig::File {
                path: String::new(),
            }
        }
    };
    Config {
        timezone,
        cdr_template,
        source,
        call_api,
        xapi,
        extensions,
        extensions_from_xapi,
        direction,
        internal_calls,
        default_region,
        business_hours,
        groups,
        missed_calls,
        poll_interval: c.secs(
            "polling.interval_secs",
            &raw.polling.interval_secs,
            30,
            1,
            86_400,
        ),
        batch_size: c.number(
            "polling.batch_size",
            &raw.polling.batch_size,
            500,
            1,
            100_000,
        ) as usize,
        checkpoint,
        host_sections: super::HostSections::default(),
    }
}

/// The `missed_calls` section: `enabled`, `outside_hours`, and `route` (queue, ring group or
/// IVR DN, or DID → a person's extension by the `direction` rules; `default` for the rest).
fn missed_calls(c: &mut Check<'_>, raw: &RawConfig, direction: &DirectionPolicy) -> MissedCalls {
    let m = &raw.missed_calls;
    let mut out = MissedCalls {
        enabled: c.flag("missed_calls.enabled", &m.enabled, true),
        outside_hours: c.parse(
            "missed_calls.outside_hours",
            &m.outside_hours,
            OutsideHours::Skip,
            "log or skip",
        ),
        ..MissedCalls::default()
    };
    for (key, value) in &m.route {
        let path = format!("missed_calls.route.{key}");
        let is_default = key == DEFAULT_ROUTE;
        let dn = key.trim();
        let digits = dn.strip_prefix('+').unwrap_or(dn);
        if !is_default && (digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit())) {
            c.bad(
                &path,
                None,
                "is not a DN (digits, such as a queue's 800) nor a DID (+19075550100), nor `default`",
            );
            continue;
        }
        let Some(extension) = c.opt_text(&path, &Some(value.clone())) else {
            if !matches!(value, Value::Array(_) | Value::Object(_)) {
                c.bad(
                    &path,
                    None,
                    "is required (the extension of the person who calls back)",
                );
            }
            continue;
        };
        if !direction.is_owner_extension(&extension) {
            c.bad(
                &path,
                Some(value),
                "is not a person's extension (digits the direction.extension_digits or \
                 extension_ranges rule accepts, not a trunk or a direction.service_dns entry): \
                 a missed call is owned by the person who calls back",
            );
            continue;
        }
        if is_default {
            out.default = Some(extension);
        } else {
            out.route.insert(dn.to_owned(), extension);
        }
    }
    out
}

/// The entries of an extension map (`"101": email` or `"101": {email, name}`) under `prefix`,
/// each problem reported with its path: the one validation of the sideloader's
/// `extensions.map` and `pbx-convert --extensions`.
fn extension_entries(
    c: &mut Check<'_>,
    prefix: &str,
    entries: &BTreeMap<String, Value>,
) -> ExtensionMap {
    let mut extensions = ExtensionMap::new();
    for (ext, entry) in entries {
        let path = format!("{prefix}.{ext}");
        if ext.is_empty() || !ext.chars().all(|ch| ch.is_ascii_digit()) {
            c.bad(&path, None, "is not an extension number (digits only)");
        }
        let (email, name) = match entry {
            Value::String(s) => (Some(s.clone()), None),
            Value::Object(m) => {
                for k in m.keys().filter(|k| *k != "email" && *k != "name") {
                    c.bad(
                        &format!("{path}.{k}"),
                        None,
                        "is not a known setting (check the spelling)",
                    );
                }
                (
                    c.opt_text(&format!("{path}.email"), &m.get("email").cloned()),
                    c.opt_text(&format!("{path}.name"), &m.get("name").cloned()),
                )
            }
            other => {
                c.bad(&path, Some(other), "must be an email or {email, name}");
                continue;
            }
        };
        match email {
            Some(e) if looks_like_email(&e) => extensions.insert(User {
                extension: ext.clone(),
                email: e,
                name,
                origin: crate::extensions::UserOrigin::Map,
            }),
            Some(e) => c.bad(
                &format!("{path}.email"),
                Some(&Value::String(e)),
                "is not an email address",
            ),
            None => c.bad(&format!("{path}.email"), None, "is required"),
        }
    }
    extensions
}

/// An extension map file's mapping (see [`super::extensions_from_yaml`]).
pub(super) fn extension_file(
    entries: &BTreeMap<String, Value>,
    prefix: &str,
    issues: &mut Vec<ConfigIssue>,
) -> ExtensionMap {
    extension_entries(&mut Check::new(issues), prefix, entries)
}

pub(super) fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if !a.is_empty() && b.contains('.') && !s.contains(char::is_whitespace))
}

fn template(c: &mut Check<'_>, v: &V) -> FieldTemplate {
    let path = "pbx.cdr_template";
    let result = match v {
        None | Some(Value::Null) => return FieldTemplate::default(),
        Some(Value::Array(items)) => FieldTemplate::from_names(items.iter().filter_map(text)),
        Some(other) => match text(other) {
            Some(s) => s.parse(),
            None => {
                c.bad(
                    path,
                    Some(other),
                    "must be 20, 27, a comma list or a list of field names",
                );
                return FieldTemplate::default();
            }
        },
    };
    result.unwrap_or_else(|e| {
        let why = match &e {
            // Not "invalid CDR field template" twice.
            crate::Error::InvalidTemplate { reason } => reason.clone(),
            other => other.to_string(),
        };
        c.bad(
            path,
            v.as_ref(),
            format!("is not a CDR field template: {why}"),
        );
        FieldTemplate::default()
    })
}

fn source(c: &mut Check<'_>, raw: &RawConfig) -> SourceConfig {
    let fallback = SourceConfig::File {
        path: String::new(),
    };
    let Some(s) = &raw.source else {
        c.bad(
            "source",
            None,
            "is required (where CDRs come from: kind and its settings)",
        );
        return fallback;
    };
    let kinds = "postgres_cdroutput, postgres_cl, postgres_table, mssql_table, socket_listen, socket_connect, file or directory";
    let Some(kind) = c.req_text("source.kind", &s.kind, kinds) else {
        return fallback;
    };
    let db_url = |c: &mut Check<'_>, postgres: bool| {
        if postgres {
            c.postgres_url("source.url", &s.url, "the database connection string")
        } else {
            c.req_secret("source.url", &s.url, "the database connection string")
        }
    };
    let table = |c: &mut Check<'_>| {
        let name = match &s.table {
            Some(v) => c.identifier("source.table", v, true).unwrap_or_default(),
            None => {
                c.bad("source.table", None, "is required (the CDR table's name)");
                String::new()
            }
        };
        let mut columns = BTreeMap::new();
        for (field, column) in &s.columns {
            let path = format!("source.columns.{field}");
            if field != "id" && field.parse::<Field>().is_err() {
                c.bad(
                    &path,
                    None,
                    "is not id or a CDR field name (historyid, time-start, from-no, …)",
                );
                continue;
            }
            if let Some(col) = c.identifier(&path, column, false) {
                columns.insert(field.clone(), col);
            }
        }
        columns
            .entry("id".to_owned())
            .or_insert_with(|| "id".to_owned());
        TableMapping { name, columns }
    };
    let journal = |c: &mut Check<'_>| {
        c.opt_text("source.journal", &s.journal)
            .unwrap_or_else(|| "pbx-journal".into())
    };
    // Checked whatever the kind (only postgres_cdroutput uses it).
    let settle = c.secs("source.settle_secs", &s.settle_secs, 60, 0, 3600);
    match kind.as_str() {
        "postgres_cdroutput" => SourceConfig::PostgresCdrOutput {
            url: db_url(c, true),
            settle,
        },
        "postgres_cl" => SourceConfig::PostgresCallLog {
            url: db_url(c, true),
        },
        "postgres_table" => SourceConfig::PostgresTable {
            url: db_url(c, true),
            table: table(c),
        },
        "mssql_table" => SourceConfig::MssqlTable {
            url: db_url(c, false),
            table: table(c),
        },
        "socket_listen" => {
            let listen = c
                .req_text("source.listen", &s.listen, "an address like 0.0.0.0:5000")
                .unwrap_or_default();
            if !listen.is_empty() && listen.parse::<std::net::SocketAddr>().is_err() {
                c.bad(
                    "source.listen",
                    s.listen.as_ref(),
                    "is not an address like 0.0.0.0:5000",
                );
            }
            let allow_peers = s
                .allow_peers
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let parsed = text(p).and_then(|t| t.parse().ok());
                    if parsed.is_none() {
                        c.bad(
                            &format!("source.allow_peers[{i}]"),
                            Some(p),
                            "is not an IP address",
                        );
                    }
                    parsed
                })
                .collect();
            SourceConfig::SocketListen {
                listen,
                allow_peers,
                journal: journal(c),
            }
        }
        "socket_connect" => {
            let connect = c
                .req_text("source.connect", &s.connect, "the PBX's host:port")
                .unwrap_or_default();
            if !connect.is_empty()
                && !connect
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            {
                c.bad("source.connect", s.connect.as_ref(), "is not host:port");
            }
            SourceConfig::SocketConnect {
                connect,
                journal: journal(c),
            }
        }
        "file" => SourceConfig::File {
            path: c
                .req_text("source.path", &s.path, "the CDR file")
                .unwrap_or_default(),
        },
        "directory" => SourceConfig::Directory {
            path: c
                .req_text("source.path", &s.path, "the folder 3CX writes CDR files to")
                .unwrap_or_default(),
            processed_dir: c.opt_text("source.processed_dir", &s.processed_dir),
        },
        _ => {
            c.bad(
                "source.kind",
                s.kind.as_ref(),
                format!("is not a source kind ({kinds})"),
            );
            fallback
        }
    }
}

fn direction(c: &mut Check<'_>, raw: &RawConfig) -> (DirectionPolicy, InternalCalls) {
    let d = &raw.direction;
    let mut policy = DirectionPolicy::default();
    if let Some(s) = c.opt_text("direction.extension_digits", &d.extension_digits) {
        let (lo, hi) = s.split_once('-').unwrap_or((&s, &s));
        match (lo.trim().parse::<usize>(), hi.trim().parse::<usize>()) {
            (Ok(lo), Ok(hi)) if (1..=hi).contains(&lo) && hi <= 15 => {
                policy.extension_digits = lo..=hi
            }
            _ => c.bad(
                "direction.extension_digits",
                d.extension_digits.as_ref(),
                "is not a digit count or range like 2-5",
            ),
        }
    }
    for (i, r) in d.extension_ranges.iter().enumerate() {
        let path = format!("direction.extension_ranges[{i}]");
        let parsed = text(r).and_then(|s| {
            let (lo, hi) = s.split_once('-')?;
            let (lo, hi) = (
                lo.trim().parse::<u64>().ok()?,
                hi.trim().parse::<u64>().ok()?,
            );
            (lo <= hi).then_some(lo..=hi)
        });
        match parsed {
            Some(range) => policy.extension_ranges.push(range),
            None => c.bad(
                &path,
                Some(r),
                "is not a range of extension numbers like 100-199",
            ),
        }
    }
    policy.trunk_dns = c.list("direction.trunk_dns", &d.trunk_dns);
    policy.service_dns = c.list("direction.service_dns", &d.service_dns);
    policy.min_external_digits = c.number(
        "direction.min_external_digits",
        &d.min_external_digits,
        7,
        3,
        15,
    ) as usize;
    let internal = match c
        .opt_text("direction.internal_calls", &d.internal_calls)
        .as_deref()
    {
        None => InternalCalls::Skip,
        Some(text) => text.parse().unwrap_or_else(|_| {
            c.bad(
                "direction.internal_calls",
                d.internal_calls.as_ref(),
                "is not skip or as_outbound",
            );
            InternalCalls::Skip
        }),
    };
    (policy, internal)
}

/// One weekday's value: a list of intervals, one interval, `{start, end}`, or null / empty
/// for closed.
fn day_intervals(c: &mut Check<'_>, path: &str, v: &V) -> Vec<Interval> {
    let one = |c: &mut Check<'_>, path: &str, v: &Value| -> Option<Interval> {
        let s = match v {
            Value::Object(m) => {
                for k in m.keys().filter(|k| *k != "start" && *k != "end") {
                    c.bad(
                        &format!("{path}.{k}"),
                        None,
                        "is not a known setting (start or end)",
                    );
                }
                let start = m.get("start").and_then(text);
                let end = m.get("end").and_then(text);
                match (start, end) {
                    (Some(s), Some(e)) => format!("{s}-{e}"),
                    _ => {
                        c.bad(path, Some(v), "needs both start and end");
                        return None;
                    }
                }
            }
            other => text(other)?,
        };
        match s.parse::<Interval>() {
            Ok(i) => Some(i),
            Err(e) => {
                let reason = match e {
                    crate::Error::InvalidSetting { reason, .. } => reason,
                    other => other.to_string(),
                };
                c.bad(
                    path,
                    Some(v),
                    format!("is not an interval like 09:00-17:00: {reason}"),
                );
                None
            }
        }
    };
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s))
            if s.trim().is_empty() || s.trim().eq_ignore_ascii_case("closed") =>
        {
            Vec::new()
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| one(c, &format!("{path}[{i}]"), item))
            .collect(),
        Some(other) => one(c, path, other).into_iter().collect(),
    }
}

fn hours_config(c: &mut Check<'_>, path: &str, h: &RawHours, default_tz: Tz) -> HoursConfig {
    // The schedule is checked even when 3CX's hours are used instead: a wrong value must not
    // wait to surface until the day `from_xapi` is switched off.
    let from_xapi = c.flag(&format!("{path}.from_xapi"), &h.from_xapi, false);
    let tz = c.tz(&format!("{path}.timezone"), &h.timezone, default_tz);
    let mut bh = BusinessHours::new(tz);
    let days = [
        (Weekday::Mon, "monday", &h.monday),
        (Weekday::Tue, "tuesday", &h.tuesday),
        (Weekday::Wed, "wednesday", &h.wednesday),
        (Weekday::Thu, "thursday", &h.thursday),
        (Weekday::Fri, "friday", &h.friday),
        (Weekday::Sat, "saturday", &h.saturday),
        (Weekday::Sun, "sunday", &h.sunday),
    ];
    for (day, name, v) in days {
        let intervals = day_intervals(c, &format!("{path}.{name}"), v);
        bh = bh.with_day(day, intervals);
    }
    let date = |c: &mut Check<'_>,
                p: &str,
                v: &V,
                yearly_ok: bool|
     -> Option<Result<NaiveDate, (u32, u32)>> {
        let s = c.req_text(p, v, "a date like 2026-12-24 or 12-25")?;
        if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            return Some(Ok(d));
        }
        let md = s
            .split_once('-')
            .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)));
        match md {
            Some((m, d)) if yearly_ok && NaiveDate::from_ymd_opt(2000, m, d).is_some() => {
                Some(Err((m, d)))
            }
            _ => {
                let expected = if yearly_ok {
                    "is not a date (YYYY-MM-DD, or MM-DD for every year)"
                } else {
                    "is not a date (YYYY-MM-DD)"
                };
                c.bad(p, v.as_ref(), expected);
                None
            }
        }
    };
    for (i, hol) in h.holidays.iter().enumerate() {
        let p = format!("{path}.holidays[{i}]");
        let name = c
            .opt_text(&format!("{p}.name"), &hol.name)
            .unwrap_or_else(|| "Holiday".into());
        match date(c, &format!("{p}.date"), &hol.date, true) {
            Some(Ok(d)) => bh = bh.with_holiday(Holiday::fixed(name, d)),
            Some(Err((m, d))) => bh = bh.with_holiday(Holiday::yearly(name, m, d)),
            None => {}
        }
    }
    for (i, cl) in h.closures.iter().enumerate() {
        let p = format!("{path}.closures[{i}]");
        let name = c
            .opt_text(&format!("{p}.name"), &cl.name)
            .unwrap_or_else(|| "Closed".into());
        if let Some(Ok(d)) = date(c, &format!("{p}.date"), &cl.date, false) {
            bh = bh.with_closure(d, name);
        }
    }
    for (i, op) in h.openings.iter().enumerate() {
        let p = format!("{path}.openings[{i}]");
        let intervals = day_intervals(c, &format!("{p}.hours"), &op.hours);
        if intervals.is_empty() {
            c.bad(
                &format!("{p}.hours"),
                None,
                "is required (the intervals open that day)",
            );
        }
        if let Some(Ok(d)) = date(c, &format!("{p}.date"), &op.date, false) {
            bh = bh.with_opening(d, intervals);
        }
    }
    let shift =
        |c: &mut Check<'_>, p: &str, v: &V, default: Shift| match c.opt_text(p, v).as_deref() {
            None => default,
            Some("friday") => Shift::Friday,
            Some("monday") => Shift::Monday,
            Some("none") | Some("stay") => Shift::Stay,
            Some(_) => {
                c.bad(p, v.as_ref(), "is not friday, monday or none");
                default
            }
        };
    let rule = ObservedRule {
        saturday: shift(
            c,
            &format!("{path}.observed.saturday"),
            &h.observed.saturday,
            Shift::Friday,
        ),
        sunday: shift(
            c,
            &format!("{path}.observed.sunday"),
            &h.observed.sunday,
            Shift::Monday,
        ),
    };
    if from_xapi {
        return HoursConfig::FromXapi;
    }
    HoursConfig::Schedule(Box::new(bh.with_observed_rule(rule)))
}
