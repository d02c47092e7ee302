//! The one vocabulary of pbx: the stable codes of every enum the bindings (Python, Node) and
//! the service publish as strings.
//!
//! Every such enum has
//! - `code(&self) -> &'static str`: its stable code (the spelling the bindings publish);
//! - `ALL`: every variant, so a test (or a binding) can enumerate them;
//! - `FromStr`: the code back to the value (a few enums also accept a documented alias), with
//!   [`crate::Error::InvalidSetting`] naming the accepted codes otherwise;
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

use std::fmt;

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
    /// [`UnknownCode`] with [`Vocabulary::NAME`], the text, and the accepted codes (it becomes
    /// [`crate::Error::InvalidSetting`] through `?` or `FromStr`).
    fn parse_code(text: &str) -> Result<Self, UnknownCode> {
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
            .ok_or_else(|| UnknownCode {
                name: Self::NAME,
                value: text.to_owned(),
                codes: Self::codes(),
            })
    }
}

/// A text that is none of a vocabulary's codes: what [`Vocabulary::parse_code`] returns. It
/// converts into [`crate::Error::InvalidSetting`] (setting: the vocabulary's name), which is
/// what `FromStr` gives.
///
/// ```
/// use pbx_core::Vocabulary;
/// use pbx_core::call::InternalCalls;
/// let e = InternalCalls::parse_code("sometimes").unwrap_err();
/// assert_eq!(e.to_string(), "`sometimes` is not one of the internal_calls codes: skip, as_outbound");
/// assert_eq!(e.codes, ["skip", "as_outbound"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode {
    /// The vocabulary's name ([`Vocabulary::NAME`]).
    pub name: &'static str,
    /// The text given.
    pub value: String,
    /// Every accepted code.
    pub codes: Vec<&'static str>,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not one of the {} codes: {}",
            self.value,
            self.name,
            self.codes.join(", ")
        )
    }
}

impl std::error::Error for UnknownCode {}

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
                Ok(<$ty as $crate::vocab::Vocabulary>::parse_code(s)?)
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
