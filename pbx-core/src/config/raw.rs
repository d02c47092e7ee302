//! The configuration as written (YAML shape), before validation. Leaves are kept as raw JSON
//! values so that validation can report every bad value with its path, not only the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

pub(super) type V = Option<Value>;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawConfig {
    pub pbx: RawPbx,
    pub source: Option<RawSource>,
    pub call_api: Option<RawCallApi>,
    pub xapi: Option<RawXapi>,
    pub extensions: RawExtensions,
    pub direction: RawDirection,
    pub phone: RawPhone,
    pub business_hours: Option<RawHours>,
    pub groups: RawGroups,
    pub missed_calls: RawMissedCalls,
    pub polling: RawPolling,
    pub checkpoint: RawCheckpoint,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawPbx {
    pub timezone: V,
    pub cdr_template: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawSource {
    pub kind: V,
    pub url: V,
    pub table: V,
    pub columns: BTreeMap<String, Value>,
    pub settle_secs: V,
    pub listen: V,
    pub connect: V,
    pub allow_peers: Vec<Value>,
    pub path: V,
    pub processed_dir: V,
    pub journal: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawCallApi {
    pub base_url: V,
    pub token: V,
    pub timeout_secs: V,
    pub concurrency: V,
    pub max_attempts: V,
    pub poison_after_secs: V,
    pub max_retry_after_secs: V,
    pub insecure_skip_tls_verify: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawXapi {
    pub base_url: V,
    pub client_id: V,
    pub client_secret: V,
    pub refresh_secs: V,
    pub insecure_skip_tls_verify: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawExtensions {
    pub map: BTreeMap<String, Value>,
    pub from_xapi: V,
    pub default_email: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawDirection {
    pub extension_digits: V,
    pub extension_ranges: Vec<Value>,
    pub trunk_dns: Vec<Value>,
    pub service_dns: Vec<Value>,
    pub min_external_digits: V,
    pub internal_calls: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawPhone {
    pub default_region: V,
}

/// Business hours: a value per weekday (a list of intervals, one interval string, or null /
/// empty for closed), holidays, the observed rule, closures and openings.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawHours {
    pub timezone: V,
    pub monday: V,
    pub tuesday: V,
    pub wednesday: V,
    pub thursday: V,
    pub friday: V,
    pub saturday: V,
    pub sunday: V,
    pub holidays: Vec<RawHoliday>,
    pub observed: RawObserved,
    pub closures: Vec<RawHoliday>,
    pub openings: Vec<RawOpening>,
    pub from_xapi: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawHoliday {
    pub name: V,
    pub date: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawObserved {
    pub saturday: V,
    pub sunday: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawOpening {
    pub date: V,
    pub hours: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawGroups {
    pub enabled: V,
    pub interval_secs: V,
    pub debounce: V,
    pub include: Vec<Value>,
    pub exclude: Vec<Value>,
    pub hours: BTreeMap<String, RawHours>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawMissedCalls {
    pub enabled: V,
    pub outside_hours: V,
    pub route: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawPolling {
    pub interval_secs: V,
    pub batch_size: V,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawCheckpoint {
    pub kind: V,
    pub path: V,
    pub url: V,
    pub table: V,
}
