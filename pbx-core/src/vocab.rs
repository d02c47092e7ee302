//! The one vocabulary of pbx: the stable codes of every enum the bindings (Python, Node) and
//! the service publish as strings.
//!
//! Every such enum has
//! - `code(&self) -> &'static str`: its stable code (the spelling the bindings publish);
//! - `ALL`: every variant, so a test (or a binding) can enumerate them;
//! - `FromStr`: the code back to the value (a few enums also accept a documented alias), with
//!   [`Error::InvalidSetting`] naming the accepted codes otherwise;
//! - `Display`: the code — except where `Display` was already a sentence for people
//!   ([`crate::direction::Rule`], [`crate::call::SkipReason`], [`crate::phone::InvalidReason`],
//!   [`crate::Error`]); there `code()` gives the code and `Display` the explanation.
//!
//! The [`Vocabulary`] trait ties them together so code can handle any of them generically:
//! a binding turns a value into its code with `code()` and never matches on the variants.
//!
//! ```
//! use pbx_core::Vocabulary;
//! use pbx_core::call::InternalCalls;
//! assert_eq!(InternalCalls::AsOutbound.code(), "as_outbound");
//! assert_eq!("as_outbound".parse::<InternalCalls>()?, InternalCalls::AsOutbound);
//! assert_eq!(InternalCalls::codes(), ["skip", "as_outbound"]);
//! let err = "sometimes".parse::<InternalCalls>().unwrap_err();
//! assert_eq!(err.to_string(), r#"invalid setting `internal_calls` = "sometimes": expected one of skip, as_outbound"#);
//! # Ok::<(), pbx_core::Error>(())
//! ```

use crate::error::Error;

/// An enum with stable string codes. See the [module](self) documentation.
pub trait Vocabulary: Sized + Clone + 'static {
    /// What the codes name, as a setting name in errors (`internal_calls`, `group_kind`, …).
    const NAME: &'static str;

    /// Every variant, in declaration order.
    fn all() -> &'static [Self];

    /// The stable code of this value.
    fn code(&self) -> &'static str;

    /// The codes of every variant, in the order of [`Vocabulary::all`].
    fn codes() -> Vec<&'static str> {
        Self::all().iter().map(Self::code).collect()
    }

    /// Other accepted spellings (an alias → its value), for [`Vocabulary::parse_code`].
    const ALIASES: &'static [(&'static str, Self)] = &[];

    /// The value whose code (or alias) is `text`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] with `setting` [`Vocabulary::NAME`], the text, and the
    /// accepted codes.
    fn parse_code(text: &str) -> Result<Self, Error> {
        Self::all()
            .iter()
            .find(|v| v.code() == text)
            .or_else(|| {
                Self::ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == text)
                    .map(|(_, v)| v)
            })
            .cloned()
            .ok_or_else(|| Error::InvalidSetting {
                setting: Self::NAME.to_owned(),
                value: text.to_owned(),
                reason: format!("expected one of {}", Self::codes().join(", ")),
            })
    }
}

/// Every code list the bindings publish, by vocabulary name: each [`Vocabulary`] of the crate,
/// plus the alert actions (`alert_action`) and the business-hours states (`hours_state`),
/// which carry data and so list their codes as constants. Both bindings return this from their
/// `_vocabulary()` test hook, so a new vocabulary reaches their tests without binding code.
///
/// ```
/// let all = pbx_core::vocab::all_codes();
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

/// Implements [`Vocabulary`], the inherent `code()` and `ALL`, `FromStr` and (optionally)
/// `Display` for a fieldless enum (or one whose variants in `ALL` are constants).
macro_rules! vocabulary {
    (
        $(#[$doc:meta])*
        $ty:ident, $name:literal,
        { $($variant:pat => $code:literal),+ $(,)? },
        all: [$($all:expr),+ $(,)?]
        $(, aliases: [$(($alias:literal, $avalue:expr)),+ $(,)?])?
        $(, display: $display:ident)?
    ) => {
        impl $ty {
            /// Every variant, in declaration order (see [`crate::vocab`]).
            pub const ALL: &'static [$ty] = &[$($all),+];

            $(#[$doc])*
            pub fn code(&self) -> &'static str {
                match self {
                    $($variant => $code),+
                }
            }
        }

        // `code()` matches every variant (no wildcard), so one code per variant: `ALL` must
        // list as many values, or the crate does not compile.
        const _: () = assert!(
            $ty::ALL.len() == [$($code),+].len(),
            concat!(stringify!($ty), "::ALL does not list every variant")
        );

        impl $crate::vocab::Vocabulary for $ty {
            const NAME: &'static str = $name;
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn code(&self) -> &'static str {
                $ty::code(self)
            }
            $(const ALIASES: &'static [(&'static str, Self)] = &[$(($alias, $avalue)),+];)?
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::Error;
            /// The value of a code (see [`crate::vocab`]).
            fn from_str(s: &str) -> Result<Self, $crate::Error> {
                <$ty as $crate::vocab::Vocabulary>::parse_code(s)
            }
        }

        $($crate::vocab::vocabulary!(@display $display $ty);)?
    };
    (@display code $ty:ident) => {
        impl ::std::fmt::Display for $ty {
            /// Writes the code.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    use super::Vocabulary;
    use crate::call::{CallDirection, InternalCalls, SkipReason};
    use crate::config::SourceKind;
    use crate::direction::{Direction, Rule};
    use crate::error::{ErrorCategory, ErrorKind};
    use crate::groups::{GroupKind, ResolveReason};
    use crate::phone::{InvalidReason, NumberFormat};

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
