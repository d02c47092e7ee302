//! The shared test vectors (`tests/vectors/core.json` at the workspace root) against the core.
//! The Python (`pbx-py/tests/test_vectors.py`) and Node (`pbx-node/__test__/vectors.test.mjs`)
//! tests read the same file, so the three surfaces give the same outputs for the same inputs.
//! Every mismatch is collected and reported with the case's name, so one run shows them all.

use chrono::{DateTime, Utc};
use pbx_core::call::{CallMapper, Mapped, SkipReason};
use pbx_core::cdr::{Cdr, CdrParser, FieldTemplate};
use pbx_core::config::{Config, HoursConfig};
use pbx_core::hours::BusinessHours;
use pbx_core::hours::xapi::OfficeHours;
use pbx_core::phone::{NumberPolicy, Region, normalize};
use pbx_core::{Error, Location};
use serde_json::{Value, json};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/core.json");
    let text = std::fs::read_to_string(path).expect("tests/vectors/core.json is readable");
    serde_json::from_str(&text).expect("tests/vectors/core.json is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

fn cases<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    let list = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array"));
    assert!(
        !list.is_empty(),
        "tests/vectors/core.json: the {key} list is empty, so nothing would be checked"
    );
    list
}

/// Collects mismatches; panics with all of them at the end.
#[derive(Default)]
struct Check(Vec<String>);

impl Check {
    fn eq(&mut self, case: &str, what: &str, got: &Value, want: &Value) {
        if got != want {
            self.0
                .push(format!("{case}: {what}\n    got  {got}\n    want {want}"));
        }
    }

    fn done(self) {
        assert!(
            self.0.is_empty(),
            "{} mismatches:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn config(v: &Value, extra: &str) -> Result<Config, Error> {
    let text = format!("{}{extra}", s(v, "config_base"));
    Config::from_yaml(&text, &|_| None)
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    })
}

fn text<T: ToString>(v: &Option<T>) -> Value {
    v.as_ref()
        .map_or(Value::Null, |x| Value::String(x.to_string()))
}

/// A record's fields under the names the vectors (and Python's `Cdr`) use.
fn field(cdr: &Cdr, name: &str) -> Value {
    match name {
        "history_id" => text(&cdr.history_id),
        "call_id" => text(&cdr.call_id),
        "time_start" => time(cdr.time_start),
        "time_answered" => time(cdr.time_answered),
        "time_end" => time(cdr.time_end),
        "reason_terminated" => text(&cdr.reason_terminated),
        "from_no" => text(&cdr.from_no),
        "to_no" => text(&cdr.to_no),
        "from_dn" => text(&cdr.from_dn),
        "to_dn" => text(&cdr.to_dn),
        "dial_no" => text(&cdr.dial_no),
        "reason_changed" => text(&cdr.reason_changed),
        "final_number" => text(&cdr.final_number),
        "final_dn" => text(&cdr.final_dn),
        "bill_code" => text(&cdr.bill_code),
        "bill_rate" => text(&cdr.bill_rate),
        "bill_cost" => text(&cdr.bill_cost),
        "bill_name" => text(&cdr.bill_name),
        "chain" => json!(
            cdr.chain
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
        "from_type" => text(&cdr.from_type),
        "to_type" => text(&cdr.to_type),
        "final_type" => text(&cdr.final_type),
        "from_dispname" => text(&cdr.from_dispname),
        "to_dispname" => text(&cdr.to_dispname),
        "final_dispname" => text(&cdr.final_dispname),
        "missed_queue_calls" => text(&cdr.missed_queue_calls),
        "talk_seconds" => json!(cdr.talk_seconds()),
        "is_answered" => json!(cdr.is_answered()),
        other => panic!("the vectors name an unknown field {other}"),
    }
}

/// An error as the vectors write it (Python's `kind`, `line`, `field`, `value`, message).
fn error(e: &Error) -> Value {
    let kind = match e {
        Error::InvalidValue { .. } => "invalid_value",
        Error::FieldCount { .. } => "field_count",
        Error::TooManyFields { .. } => "too_many_fields",
        Error::LineTooLong { .. } => "line_too_long",
        Error::EmptyLine { .. } => "empty_line",
        Error::InvalidCall { .. } => "invalid_call",
        _ => "other",
    };
    let line = match e.location() {
        Some(Location::Line(n)) => json!(n),
        _ => Value::Null,
    };
    json!({"kind": kind, "line": line, "field": e.field(), "value": e.value(), "message": e.to_string()})
}

fn parse(case: &Value) -> Result<Cdr, Error> {
    let parser = CdrParser::new(s(case, "template").parse().expect("the template is valid"));
    let line_no = case["line_no"].as_u64().unwrap_or(1);
    parser.parse_line(line_no, s(case, "text"))
}

fn mapper(v: &Value, case: &Value) -> CallMapper {
    config(v, s(case, "config"))
        .unwrap_or_else(|e| panic!("{}: the case's config is valid: {e}", s(case, "name")))
        .call_mapper()
}

#[test]
fn phone_numbers() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "phone") {
        let policy =
            NumberPolicy::new(Region::parse("region", s(case, "region")).expect("a region"));
        let got = serde_json::to_value(normalize(s(case, "raw"), &policy)).expect("serializes");
        check.eq(s(case, "raw"), "normalized", &got, &case["expect"]);
    }
    check.done();
}

#[test]
fn cdr_lines() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "cdr") {
        let name = s(case, "name");
        match (parse(case), case["expect"].get("fields")) {
            (Ok(cdr), Some(fields)) => {
                for (key, want) in fields.as_object().expect("fields is an object") {
                    check.eq(name, key, &field(&cdr, key), want);
                }
            }
            (Ok(cdr), None) => check.eq(name, "parse", &json!(format!("{cdr:?}")), &case["expect"]),
            (Err(e), _) => check.eq(name, "error", &json!({"error": error(&e)}), &case["expect"]),
        }
    }
    check.done();
}

#[test]
fn directions() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "direction") {
        let cdr = parse(case).expect("direction vectors parse");
        let c = mapper(&v, case).classify(&cdr);
        let got = json!({
            "direction": c.direction.to_string(),
            "rule": c.rule.code(),
            "owner": c.owner,
            "counterpart": c.counterpart.map(|n| n.as_str().to_owned()),
        });
        check.eq(s(case, "name"), "classification", &got, &case["expect"]);
    }
    check.done();
}

#[test]
fn call_requests() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "calls") {
        let cdr = parse(case).expect("call vectors parse");
        let got = match mapper(&v, case)
            .map(&cdr)
            .map_err(|e| e.located(Location::Line(1)))
        {
            Ok(Mapped::Call(call)) => json!({ "call": call }),
            Ok(Mapped::Skipped(r)) => {
                let extension = match &r {
                    SkipReason::NoOwnerEmail { extension } => Some(extension.clone()),
                    _ => None,
                };
                json!({"skip": {"reason": r.kind().to_uppercase(), "extension": extension, "message": r.to_string()}})
            }
            Ok(other) => json!(format!("{other:?}")),
            Err(e) => json!({ "error": error(&e) }),
        };
        check.eq(s(case, "name"), "mapped", &got, &case["expect"]);
        if let Some(call) = got.get("call") {
            // The exact JSON body: the API's field order too.
            let keys: Vec<&String> = call
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            let want: Vec<&String> = case["expect"]["call"]
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            check.eq(s(case, "name"), "keys", &json!(keys), &json!(want));
        }
    }
    check.done();
}

#[test]
fn business_hours() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "hours") {
        let name = s(case, "name");
        let hours: BusinessHours = if let Some(xapi) = case.get("xapi") {
            let oh: OfficeHours =
                serde_json::from_value(xapi.clone()).expect("an OfficeHours object");
            oh.to_business_hours().expect("usable office hours")
        } else {
            match config(&v, s(case, "config"))
                .expect("a valid config")
                .business_hours
            {
                Some(HoursConfig::Schedule(h)) => *h,
                other => panic!("{name}: no schedule in the config: {other:?}"),
            }
        };
        for q in cases(case, "queries") {
            let at: DateTime<Utc> = s(q, "at").parse().expect("an RFC 3339 time");
            let next = hours
                .next_change(at)
                .map(|(t, opens)| json!({"at": time(Some(t)), "opens": opens}));
            let got = json!({"at": s(q, "at"), "is_open": hours.is_open(at), "next_change": next});
            check.eq(name, s(q, "at"), &got, q);
        }
    }
    check.done();
}

#[test]
fn config_errors() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "config_errors") {
        let name = s(case, "name");
        let env = case["env"].clone();
        let text = format!("{}{}", s(&v, "config_base"), s(case, "yaml"));
        let got = match Config::from_yaml(&text, &|n| {
            env.get(n).and_then(Value::as_str).map(str::to_owned)
        }) {
            Err(Error::InvalidConfig { issues }) => json!(
                issues
                    .iter()
                    .map(|i| json!({"path": i.path, "value": i.value, "message": i.message}))
                    .collect::<Vec<_>>()
            ),
            other => json!(format!("not an InvalidConfig: {other:?}")),
        };
        check.eq(name, "issues", &got, &case["issues"]);
    }
    check.done();
}

#[test]
fn field_templates() {
    let v = vectors();
    let mut check = Check::default();
    for case in cases(&v, "templates") {
        let got = match s(case, "template").parse::<FieldTemplate>() {
            Ok(t) => json!({"fields": t.fields().iter().map(|f| f.name()).collect::<Vec<_>>()}),
            Err(e) => json!({"error": {
                "code": e.kind().category().code(),
                "kind": e.kind().code(),
                "message": e.to_string(),
            }}),
        };
        check.eq(s(case, "name"), "template", &got, &case["expect"]);
    }
    check.done();
}
