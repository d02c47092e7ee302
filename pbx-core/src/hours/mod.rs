//! Business hours: a weekly schedule in one IANA timezone, with holidays (fixed, yearly,
//! observed days, spans), extra closures and openings, breaks, and explicit DST behaviour.
//! Built from pbx's YAML config or from 3CX XAPI `OfficeHours` ([`xapi`]).
//!
//! Every query takes the instant; nothing here reads a clock.

mod holiday;
mod schedule;
mod time;
pub mod xapi;

pub use holiday::{Holiday, HolidayDate, ObservedRule, Shift};
pub use schedule::{BusinessHours, ClosedReason, HoursState, OpenReason};
pub use time::{Interval, TimeOfDay};
