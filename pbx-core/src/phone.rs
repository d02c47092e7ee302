//! The other party's number as sent to the call API.
//!
//! Until E.164 normalization lands, numbers pass through as their digits (a leading `+`
//! kept); an extension is its digits; a withheld caller is `anonymous`.

use crate::cdr::PartyNumber;
use crate::direction::is_withheld;

/// The number to send for a party: digits only (a leading `+` kept), `anonymous` for a
/// withheld caller, or the raw text when it holds no digit.
///
/// ```
/// use pbx_core::cdr::PartyNumber;
/// use pbx_core::phone::api_number;
/// assert_eq!(api_number(&PartyNumber::Number("(907) 555-1234".into())), "9075551234");
/// assert_eq!(api_number(&PartyNumber::Number("+46 70 301 40 82".into())), "+46703014082");
/// assert_eq!(api_number(&PartyNumber::Extension("101".into())), "101");
/// assert_eq!(api_number(&PartyNumber::Number("Anonymous".into())), "anonymous");
/// ```
pub fn api_number(n: &PartyNumber) -> String {
    let raw = n.as_str().trim();
    if is_withheld(raw) {
        return "anonymous".to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    if raw.starts_with('+') {
        out.push('+');
    }
    out.extend(raw.chars().filter(char::is_ascii_digit));
    if out.trim_start_matches('+').is_empty() {
        return raw.to_owned();
    }
    out
}
