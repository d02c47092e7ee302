//! The old Node sideloader's YAML shape, rewritten into the current one before validation.
//!
//! Recognised (camelCase, as the old app wrote it): `database` (`type`, `host`, `port`,
//! `name`/`database`, `user`/`username`, `password`, `table`), `api`/`callLogger` (`baseUrl`/`url`,
//! `token`/`apiKey`), `businessHours` (`timezone`, per weekday `{start, end}` or `null`),
//! `extensions` (`"101": email`), `callGroups` (`enabled`, `groups`/`include`), `polling`
//! (`interval`/`intervalSeconds`), `alerts` (`interval`/`intervalSeconds`), `server.port`.
//! Anything else is left in place, so validation reports it as unknown.

use serde_json::{Map, Value, json};

const MARKERS: [&str; 5] = [
    "businessHours",
    "database",
    "callGroups",
    "callLogger",
    "api",
];

/// Whether the document looks like the old shape.
pub(super) fn is_legacy(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.keys().any(|k| MARKERS.contains(&k.as_str())))
}

fn take(m: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|k| m.remove(*k))
}

fn put(out: &mut Map<String, Value>, section: &str, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        let entry = out.entry(section.to_owned()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(key.to_owned(), v);
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rewrites an old-shape document into the current shape.
pub(super) fn convert(v: Value) -> Value {
    let Value::Object(mut old) = v else { return v };
    let mut out = Map::new();
    if let Some(Value::Object(mut db)) = old.remove("database") {
        let kind = take(&mut db, &["type", "client"])
            .map(|t| scalar(&t))
            .unwrap_or_else(|| "postgres".into());
        let (kind, scheme, port) = if kind.contains("mssql") || kind.contains("sqlserver") {
            ("mssql_table", "mssql", "1433")
        } else {
            ("postgres_table", "postgres", "5432")
        };
        let host = take(&mut db, &["host", "server"])
            .map(|v| scalar(&v))
            .unwrap_or_else(|| "localhost".into());
        let port = take(&mut db, &["port"])
            .map(|v| scalar(&v))
            .unwrap_or_else(|| port.into());
        let name = take(&mut db, &["name", "database"])
            .map(|v| scalar(&v))
            .unwrap_or_default();
        let user = take(&mut db, &["user", "username"])
            .map(|v| scalar(&v))
            .unwrap_or_default();
        let password = take(&mut db, &["password"])
            .map(|v| scalar(&v))
            .unwrap_or_default();
        let auth = if password.is_empty() {
            user
        } else {
            format!("{user}:{password}")
        };
        put(&mut out, "source", "kind", Some(json!(kind)));
        put(
            &mut out,
            "source",
            "url",
            Some(json!(format!("{scheme}://{auth}@{host}:{port}/{name}"))),
        );
        put(
            &mut out,
            "source",
            "table",
            take(&mut db, &["table", "cdrTable"]),
        );
        for (k, v) in db {
            put(&mut out, "source", &format!("legacy_database_{k}"), Some(v));
        }
    }
    if let Some(Value::Object(mut api)) = take(&mut old, &["api", "callLogger"]) {
        put(
            &mut out,
            "call_api",
            "base_url",
            take(&mut api, &["baseUrl", "url", "base_url"]),
        );
        put(
            &mut out,
            "call_api",
            "token",
            take(&mut api, &["token", "apiKey", "bearerToken"]),
        );
        put(
            &mut out,
            "call_api",
            "timeout_secs",
            take(&mut api, &["timeoutSeconds", "timeout"]),
        );
        for (k, v) in api {
            put(&mut out, "call_api", &format!("legacy_{k}"), Some(v));
        }
    }
    if let Some(Value::Object(mut bh)) = old.remove("businessHours") {
        if let Some(tz) = take(&mut bh, &["timezone", "timeZone"]) {
            put(&mut out, "pbx", "timezone", Some(tz.clone()));
            put(&mut out, "business_hours", "timezone", Some(tz));
        }
        for (k, v) in bh {
            put(&mut out, "business_hours", &k, Some(v));
        }
    }
    if let Some(ext) = old.remove("extensions") {
        // The old file was a flat map; the current one nests it under `map`.
        let already_new = ext.as_object().is_some_and(|m| m.contains_key("map"));
        if already_new {
            out.insert("extensions".into(), ext);
        } else {
            put(&mut out, "extensions", "map", Some(ext));
        }
    }
    if let Some(Value::Object(mut cg)) = old.remove("callGroups") {
        put(&mut out, "groups", "enabled", take(&mut cg, &["enabled"]));
        put(
            &mut out,
            "groups",
            "include",
            take(&mut cg, &["groups", "include", "monitoredGroups"]),
        );
        put(
            &mut out,
            "groups",
            "interval_secs",
            take(&mut cg, &["checkInterval", "intervalSeconds", "interval"]),
        );
        for (k, v) in cg {
            put(&mut out, "groups", &format!("legacy_{k}"), Some(v));
        }
    }
    if let Some(Value::Object(mut p)) = old.remove("polling") {
        put(
            &mut out,
            "polling",
            "interval_secs",
            take(&mut p, &["intervalSeconds", "interval"]),
        );
        put(
            &mut out,
            "polling",
            "batch_size",
            take(&mut p, &["batchSize"]),
        );
    }
    if let Some(Value::Object(mut a)) = old.remove("alerts") {
        put(
            &mut out,
            "groups",
            "interval_secs",
            take(&mut a, &["intervalSeconds", "interval"]),
        );
    }
    if let Some(Value::Object(mut s)) = old.remove("server")
        && let Some(port) = take(&mut s, &["port"])
    {
        let listen = format!("0.0.0.0:{}", scalar(&port));
        put(&mut out, "http", "listen", Some(json!(listen)));
    }
    // Whatever is left (including current-shape sections) passes through.
    for (k, v) in old {
        out.entry(k).or_insert(v);
    }
    Value::Object(out)
}
