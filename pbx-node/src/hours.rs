//! `pbx_core::hours`: `BusinessHours`.

use chrono::{DateTime, Utc};
use napi::JsDate;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::hours::{self as core, xapi::OfficeHours};
use pbx_core::views::HoursStatus;

use crate::Js;
use crate::args::{JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, from_json, invalid_argument};

/// The instant of the `Date` argument `param` of `function`; an invalid date (`new Date('x')`)
/// is `PBX_INVALID_ARGUMENT`.
pub(crate) fn instant(
    env: &Env,
    function: &str,
    param: &str,
    at: Unknown<'_>,
) -> Result<DateTime<Utc>> {
    let at: JsDate = arg(env, function, param, at)?;
    let ms = at
        .value_of()
        .map_err(|_| invalid_argument(env, "expected a Date"))?;
    if !ms.is_finite() {
        return Err(invalid_argument(env, "an invalid Date (its time is NaN)"));
    }
    DateTime::from_timestamp_millis(ms as i64)
        .ok_or_else(|| invalid_argument(env, format!("a Date out of range ({ms} ms)")))
}

/// Always (`open`) or never open, in the `timezone` argument of `function`.
fn constant(env: &Env, function: &str, timezone: Unknown<'_>, open: bool) -> Result<BusinessHours> {
    let timezone: String = arg(env, function, "timezone", timezone)?;
    let inner = core::BusinessHours::from_codes(&timezone, None, open).or_throw(env)?;
    Ok(BusinessHours { inner })
}

/// The next opening or closing.
#[napi(object)]
pub struct HoursChange {
    /// When.
    pub at: DateTime<Utc>,
    /// `true` when the office opens then, `false` when it closes.
    pub opens: bool,
}

/// Business hours: a weekly schedule in one IANA timezone with holidays, closures, openings
/// and breaks. Every query takes the instant (a `Date`).
#[napi]
#[derive(Clone)]
pub struct BusinessHours {
    pub(crate) inner: core::BusinessHours,
}

impl From<&core::BusinessHours> for BusinessHours {
    fn from(h: &core::BusinessHours) -> Self {
        BusinessHours { inner: h.clone() }
    }
}

#[napi]
impl BusinessHours {
    /// The business hours of a loaded configuration (`business_hours`), or `null` when it has
    /// none or reads them from XAPI (`business_hours.from_xapi: true`, `businessHoursSource`
    /// `'xapi'`: use `fromXapi` with `GET /OfficeHours` then).
    #[napi(ts_args_type = "config: Config")]
    pub fn from_config(env: Env, config: Unknown<'_>) -> Result<Option<BusinessHours>> {
        let config: ClassInstance<Config> =
            arg(&env, "BusinessHours.fromConfig", "config", config)?;
        Ok(config.inner.business_hours_schedule().map(Into::into))
    }

    /// The business hours of a group that has its own in the configuration
    /// (`groups.hours.<id>`), or `null`.
    #[napi(ts_args_type = "config: Config, groupId: string")]
    pub fn from_config_group(
        env: Env,
        config: Unknown<'_>,
        group_id: Unknown<'_>,
    ) -> Result<Option<BusinessHours>> {
        let f = "BusinessHours.fromConfigGroup";
        let config: ClassInstance<Config> = arg(&env, f, "config", config)?;
        let group_id: String = arg(&env, f, "groupId", group_id)?;
        Ok(config.inner.groups.hours.get(&group_id).map(Into::into))
    }

    /// From 3CX XAPI `GET /OfficeHours` JSON as XAPI returns it (`TimeZoneId`, `Hours`,
    /// `BreakTime`, `OfficeHolidays`). Throws `PBX_INVALID_ARGUMENT` naming the XAPI field.
    #[napi(factory, ts_args_type = "officeHours: Record<string, unknown>")]
    pub fn from_xapi(env: Env, office_hours: Unknown<'_>) -> Result<BusinessHours> {
        let JsonObject(office_hours) =
            arg(&env, "BusinessHours.fromXapi", "officeHours", office_hours)?;
        let oh: OfficeHours = from_json(&env, "XAPI OfficeHours", office_hours)?;
        let inner = oh.to_business_hours().or_throw(&env)?;
        Ok(BusinessHours { inner })
    }

    /// Always open, in `timezone`.
    #[napi(factory, ts_args_type = "timezone: string")]
    pub fn always(env: Env, timezone: Unknown<'_>) -> Result<BusinessHours> {
        constant(&env, "BusinessHours.always", timezone, true)
    }

    /// Monday to Friday, one interval (default `"09:00-17:00"`), in an IANA timezone (the
    /// Python binding's `BusinessHours.weekdays`). Throws `PBX_INVALID_ARGUMENT` for an unknown
    /// timezone or an unusable interval.
    #[napi(
        factory,
        ts_args_type = "timezone: string, interval?: string | undefined | null"
    )]
    pub fn weekdays(
        env: Env,
        timezone: Unknown<'_>,
        interval: Option<Unknown<'_>>,
    ) -> Result<BusinessHours> {
        let f = "BusinessHours.weekdays";
        let timezone: String = arg(&env, f, "timezone", timezone)?;
        let interval: Option<String> = opt_arg(&env, f, "interval", interval)?;
        let interval = interval.as_deref().unwrap_or("09:00-17:00");
        let inner = core::BusinessHours::from_codes(&timezone, Some(interval), false);
        Ok(BusinessHours {
            inner: inner.or_throw(&env)?,
        })
    }

    /// Never open, in `timezone`.
    #[napi(factory, ts_args_type = "timezone: string")]
    pub fn never(env: Env, timezone: Unknown<'_>) -> Result<BusinessHours> {
        constant(&env, "BusinessHours.never", timezone, false)
    }

    /// The IANA timezone.
    #[napi(getter)]
    pub fn timezone(&self) -> String {
        self.inner.timezone().name().to_owned()
    }

    /// Whether the office is open at `at`.
    #[napi(ts_args_type = "at: Date")]
    pub fn is_open(&self, env: Env, at: Unknown<'_>) -> Result<bool> {
        let at = instant(&env, "BusinessHours.isOpen", "at", at)?;
        Ok(self.inner.is_open(at))
    }

    /// Open or closed at `at`, and why.
    #[napi(ts_args_type = "at: Date", ts_return_type = "HoursStatus")]
    pub fn state(&self, env: Env, at: Unknown<'_>) -> Result<Js<HoursStatus>> {
        let at = instant(&env, "BusinessHours.state", "at", at)?;
        Ok(Js(HoursStatus::from(&self.inner.state(at))))
    }

    /// The next opening or closing after `at`, or `null` when nothing changes within two
    /// years (always open, never open).
    #[napi(ts_args_type = "at: Date")]
    pub fn next_change(&self, env: Env, at: Unknown<'_>) -> Result<Option<HoursChange>> {
        let at = instant(&env, "BusinessHours.nextChange", "at", at)?;
        let change = self.inner.next_change(at);
        Ok(change.map(|(at, opens)| HoursChange { at, opens }))
    }
}
