//! Every vocabulary of the crate, listed: the code lists the bindings publish. It names every
//! enum that implements [`Vocabulary`] (and the two that list their codes as constants), so it
//! stands above them all; [`crate::vocab`] itself (the trait and its macro) imports none of them.

use crate::Vocabulary;

/// Every code list the bindings publish, by vocabulary name: each [`Vocabulary`] of the crate,
/// plus the alert actions (`alert_action`) and the business-hours states (`hours_state`),
/// which carry data and so list their codes as constants. Both bindings return this from their
/// `_vocabulary()` test hook, so a new vocabulary reaches their tests without binding code.
///
/// ```
/// let all = pbx_core::vocabularies::all_codes();
/// let skip = all.iter().find(|(name, _)| *name == "skip_reason").unwrap();
/// assert!(skip.1.contains(&"NO_OWNER"));
/// assert!(all.iter().all(|(_, codes)| !codes.is_empty()));
/// ```
pub fn all_codes() -> Vec<(&'static str, Vec<&'static str>)> {
    fn codes<T: Vocabulary>() -> (&'static str, Vec<&'static str>) {
        (T::NAME, T::codes())
    }
    vec![
        codes::<crate::ErrorKind>(),
        codes::<crate::ErrorCategory>(),
        codes::<crate::SideloaderErrorKind>(),
        codes::<crate::call::SkipReason>(),
        codes::<crate::call::CallDirection>(),
        codes::<crate::call::InternalCalls>(),
        codes::<crate::direction::Direction>(),
        codes::<crate::direction::Rule>(),
        codes::<crate::groups::GroupKind>(),
        codes::<crate::groups::ResolveReason>(),
        codes::<crate::phone::NumberFormat>(),
        codes::<crate::phone::InvalidReason>(),
        codes::<crate::config::SourceKind>(),
        ("alert_action", crate::groups::AlertAction::CODES.to_vec()),
        ("hours_state", crate::hours::HoursState::CODES.to_vec()),
    ]
}

#[cfg(test)]
mod tests {
    use crate::call::{CallDirection, InternalCalls, SkipReason};
    use crate::config::SourceKind;
    use crate::direction::{Direction, Rule};
    use crate::error::{ErrorCategory, ErrorKind, SideloaderErrorKind};
    use crate::groups::{GroupKind, ResolveReason};
    use crate::phone::{InvalidReason, NumberFormat};
    use crate::vocab::Vocabulary;

    /// Every code parses back to its variant, codes are unique, `Display` is the code where
    /// it is documented to be, and an unknown code is an error naming every accepted code.
    fn round_trip<
        T: Vocabulary + PartialEq + std::fmt::Debug + std::str::FromStr<Err = crate::Error>,
    >() {
        let all = T::all();
        assert!(!all.is_empty(), "{}: no variants", T::NAME);
        let codes = T::codes();
        for (v, code) in all.iter().zip(&codes) {
            assert!(!code.is_empty());
            assert_eq!(&T::parse_code(code).unwrap(), v, "{}: {code}", T::NAME);
            assert_eq!(&code.parse::<T>().unwrap(), v, "{}: {code}", T::NAME);
            assert_eq!(
                codes.iter().filter(|c| *c == code).count(),
                1,
                "{}: code {code} twice",
                T::NAME
            );
        }
        for (alias, v) in T::ALIASES {
            assert_eq!(&T::parse_code(alias).unwrap(), v);
        }
        let err = T::parse_code("no such code").unwrap_err();
        let message = err.to_string();
        assert!(message.contains(T::NAME), "{message}");
        for code in &codes {
            assert!(message.contains(code), "{message} lacks {code}");
        }
    }

    fn displays_code<T: Vocabulary + std::fmt::Display>() {
        for v in T::all() {
            assert_eq!(v.to_string(), v.code());
        }
    }

    #[test]
    fn every_vocabulary_round_trips() {
        round_trip::<ErrorKind>();
        round_trip::<SideloaderErrorKind>();
        round_trip::<ErrorCategory>();
        round_trip::<SkipReason>();
        round_trip::<Direction>();
        round_trip::<CallDirection>();
        round_trip::<Rule>();
        round_trip::<InternalCalls>();
        round_trip::<GroupKind>();
        round_trip::<ResolveReason>();
        round_trip::<NumberFormat>();
        round_trip::<InvalidReason>();
        round_trip::<SourceKind>();
    }

    #[test]
    fn display_is_the_code_where_documented() {
        displays_code::<ErrorKind>();
        displays_code::<SideloaderErrorKind>();
        displays_code::<ErrorCategory>();
        displays_code::<Direction>();
        displays_code::<CallDirection>();
        displays_code::<InternalCalls>();
        displays_code::<GroupKind>();
        displays_code::<ResolveReason>();
        displays_code::<NumberFormat>();
        displays_code::<SourceKind>();
    }

    #[test]
    fn codes_match_serialized_forms() {
        for v in CallDirection::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.code());
        }
        for v in NumberFormat::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.code());
        }
        for v in InvalidReason::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.code());
        }
    }

    #[test]
    fn skip_reasons_keep_their_metric_kind() {
        for r in SkipReason::ALL {
            assert_eq!(r.code(), r.kind().to_ascii_uppercase());
            assert_eq!(&r.kind().parse::<SkipReason>().unwrap(), r);
        }
        assert_eq!(SkipReason::OutsideRange.code(), "OUTSIDE_RANGE");
    }
}
