//! The decision trail: what the mapping is told as it decides, kept for an explanation
//! ([`Decisions`]) or not at all (`()`).

use super::request::CallDirection;
use crate::direction::OwnerRule;
use crate::extensions::EmailSource;

/// What the mapping is told as it decides ([`CallMapper::map`] passes `()`, which keeps
/// nothing and costs nothing; [`Decisions`] keeps it for an explanation).
pub(crate) trait Trail<'a> {
    /// The direction the call is sent as.
    fn direction_sent(&mut self, _direction: CallDirection) {}
    /// The classification named an owner that is not a person's extension.
    fn owner_rejected(&mut self, _dn: &'a str) {}
    /// An owner picked in the mapping itself, after the classification named none (a new
    /// owner rule, such as the missed-call route, calls this where it decides).
    fn owner(&mut self, _extension: &'a str, _rule: OwnerRule) {}
    /// Where the owner's email came from.
    fn email(&mut self, _source: EmailSource) {}
}

impl Trail<'_> for () {}

/// The decisions the mapper took for one call, as it took them (see [`crate::explain`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decisions<'a> {
    /// The direction sent (`None` when the call was skipped before).
    pub direction_sent: Option<CallDirection>,
    /// An owner the classification named that the extension rule refused.
    pub owner_rejected: Option<&'a str>,
    /// An owner picked by the mapping after the classification named none, and its rule.
    pub owner: Option<(&'a str, OwnerRule)>,
    /// Where the owner's email came from.
    pub email: Option<EmailSource>,
}

impl<'a> Trail<'a> for Decisions<'a> {
    fn direction_sent(&mut self, direction: CallDirection) {
        self.direction_sent = Some(direction);
    }
    fn owner_rejected(&mut self, dn: &'a str) {
        self.owner_rejected = Some(dn);
    }
    fn owner(&mut self, extension: &'a str, rule: OwnerRule) {
        self.owner = Some((extension, rule));
    }
    fn email(&mut self, source: EmailSource) {
        self.email = Some(source);
    }
}
