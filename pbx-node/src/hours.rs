//! `pbx_core::hours`: `BusinessHours`.

use chrono::{DateTime, Utc};
use napi::JsDate;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::hours::{self as core, HoursState, xapi::OfficeHours};

use crate::args::{JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, invalid_argument};

/// The instant of a JS `Date` (read with [`arg`]); an invalid date (`new Date('x')`) is
/// `PBX_INVALID_ARGUMENT`.
pub(crate) fn instant(env: &Env, at: &JsDate<'_>) -> Result<DateTime<Utc>> {
    let ms = at
        .value_of()
        .map_err(|_| invalid_argument(env, "expected a Date"))?;
    if !ms.is_finite() {
        return Err(invalid_argument(env, "an invalid Date (its time is NaN)"));
    }
    DateTime::from_timestamp_millis(ms as i64)
        .ok_or_else(|| invalid_argument(env, format!("a Date out of range ({ms} ms)")))
}

/// The next opening or closing.
#[napi(object)]
pub struct HoursChange {
    /// When.
    pub at: DateTime<Utc>,
    /// `true` when the office opens then, `false` when it closes.
    pub opens: bool,
}

/// Open or closed at an instant, and why.
#[napi(object)]
pub struct HoursStatus {
    /// Whether the office is open.
    pub open: bool,
    /// Why: pbx-core's `HoursState` code — `interval`, `extra_opening`, `always` when open;
    /// `outside_hours`, `holiday`, `extra_closure`, `break`, `never` when closed.
    #[napi(ts_type = "HoursReason")]
    pub reason: String,
    /// The holiday's or closure's name, when that is the reason.
    pub name: Option<String>,
}

fn status(s: &HoursState) -> HoursStatus {
    HoursStatus {
        open: s.is_open(),
        reason: s.code().to_owned(),
        name: s.name().map(str::to_owned),
    }
}

/// Business hours: a weekly schedule in one IANA timezone with holidays, closures, openings
/// and breaks. Every query takes the instant (a `Date`).
#[napi]
#[derive(Clone)]
pub struct BusinessHours {
    pub(crate) inner: core::BusinessHours,
}

#[napi]
impl BusinessHours {
    /// The business hours of a loaded configuration (`business_hours`), or `null` when it has
    /// none or reads them from XAPI (`business_hours.from_xapi: true`, `businessHoursSource`
    /// `'xapi'`: use `fromXapi` with `GET /OfficeHours` then).
    #[napi]
    pub fn from_config(
        env: Env,
        #[napi(ts_arg_type = "Config")] config: Unknown<'_>,
    ) -> Result<Option<BusinessHours>> {
        let config: ClassInstance<Config> =
            arg(&env, "BusinessHours.fromConfig", "config", config)?;
        Ok(config
            .inner
            .business_hours_schedule()
            .map(|h| BusinessHours { inner: h.clone() }))
    }

    /// The business hours of a group that has its own in the configuration
    /// (`groups.hours.<id>`), or `null`.
    #[napi]
    pub fn from_config_group(
        env: Env,
        #[napi(ts_arg_type = "Config")] config: Unknown<'_>,
        #[napi(ts_arg_type = "string")] group_id: Unknown<'_>,
    ) -> Result<Option<BusinessHours>> {
        let f = "BusinessHours.fromConfigGroup";
        let config: ClassInstance<Config> = arg(&env, f, "config", config)?;
        let group_id: String = arg(&env, f, "groupId", group_id)?;
        Ok(config
            .inner
            .groups
            .hours
            .get(&group_id)
            .map(|h| BusinessHours { inner: h.clone() }))
    }

    /// From 3CX XAPI `GET /OfficeHours` JSON as XAPI returns it (`TimeZoneId`, `Hours`,
    /// `BreakTime`, `OfficeHolidays`). Throws `PBX_INVALID_ARGUMENT` naming the XAPI field.
    #[napi(factory)]
    pub fn from_xapi(
        env: Env,
        #[napi(ts_arg_type = "Record<string, unknown>")] office_hours: Unknown<'_>,
    ) -> Result<BusinessHours> {
        let JsonObject(office_hours) =
            arg(&env, "BusinessHours.fromXapi", "officeHours", office_hours)?;
        let oh: OfficeHours = serde_json::from_value(office_hours)
            .map_err(|e| invalid_argument(&env, format!("XAPI OfficeHours: {e}")))?;
        oh.to_business_hours()
            .map(|inner| BusinessHours { inner })
            .or_throw(&env)
    }

    /// Always open, in `timezone`.
    #[napi(factory)]
    pub fn always(
        env: Env,
        #[napi(ts_arg_type = "string")] timezone: Unknown<'_>,
    ) -> Result<BusinessHours> {
        let timezone: String = arg(&env, "BusinessHours.always", "timezone", timezone)?;
        let tz = pbx_core::call::parse_timezone("timezone", &timezone).or_throw(&env)?;
        Ok(BusinessHours {
            inner: core::BusinessHours::always(tz),
        })
    }

    /// Monday to Friday, one interval (default `"09:00-17:00"`), in an IANA timezone (the
    /// Python binding's `BusinessHours.weekdays`). Throws `PBX_INVALID_ARGUMENT` for an unknown
    /// timezone or an unusable interval.
    #[napi(factory)]
    pub fn weekdays(
        env: Env,
        #[napi(ts_arg_type = "string")] timezone: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] interval: Option<Unknown<'_>>,
    ) -> Result<BusinessHours> {
        let f = "BusinessHours.weekdays";
        let timezone: String = arg(&env, f, "timezone", timezone)?;
        let interval: Option<String> = opt_arg(&env, f, "interval", interval)?;
        let tz = pbx_core::call::parse_timezone("timezone", &timezone).or_throw(&env)?;
        let interval = interval
            .as_deref()
            .unwrap_or("09:00-17:00")
            .parse()
            .or_throw(&env)?;
        Ok(BusinessHours {
            inner: core::BusinessHours::weekdays(tz, interval),
        })
    }

    /// Never open, in `timezone`.
    #[napi(factory)]
    pub fn never(
        env: Env,
        #[napi(ts_arg_type = "string")] timezone: Unknown<'_>,
    ) -> Result<BusinessHours> {
        let timezone: String = arg(&env, "BusinessHours.never", "timezone", timezone)?;
        let tz = pbx_core::call::parse_timezone("timezone", &timezone).or_throw(&env)?;
        Ok(BusinessHours {
            inner: core::BusinessHours::never(tz),
        })
    }

    /// The IANA timezone.
    #[napi(getter)]
    pub fn timezone(&self) -> String {
        self.inner.timezone().name().to_owned()
    }

    /// Whether the office is open at `at`.
    #[napi]
    pub fn is_open(&self, env: Env, #[napi(ts_arg_type = "Date")] at: Unknown<'_>) -> Result<bool> {
        let at = instant(&env, &arg(&env, "BusinessHours.isOpen", "at", at)?)?;
        Ok(self.inner.is_open(at))
    }

    /// Open or closed at `at`, and why.
    #[napi]
    pub fn state(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Date")] at: Unknown<'_>,
    ) -> Result<HoursStatus> {
        let at = instant(&env, &arg(&env, "BusinessHours.state", "at", at)?)?;
        Ok(status(&self.inner.state(at)))
    }

    /// The next opening or closing after `at`, or `null` when nothing changes within two
    /// years (always open, never open).
    #[napi]
    pub fn next_change(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Date")] at: Unknown<'_>,
    ) -> Result<Option<HoursChange>> {
        let at = instant(&env, &arg(&env, "BusinessHours.nextChange", "at", at)?)?;
        Ok(self
            .inner
            .next_change(at)
            .map(|(at, opens)| HoursChange { at, opens }))
    }
}
