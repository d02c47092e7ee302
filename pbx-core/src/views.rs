//! Plain JSON views of core values, as the Node binding publishes them (their TypeScript
//! interfaces are in `pbx-node/dts-header.d.ts`): each is `Serialize`, its keys in camelCase,
//! an absent value left out. The binding converts them; the wording and codes are made here.

use serde::Serialize;

use crate::ErrorInfo;
use crate::call::{CallRequest, Mapped, SkipReason};
use crate::direction::Classification;
use crate::extensions::User;
use crate::groups::{AlertAction, AlertRequest, OpenAlert};
use crate::hours::HoursState;

/// A call not sent (`Skip`): the [`SkipReason`]'s code, its words, and the extension of
/// `NO_OWNER_EMAIL`.
///
/// ```
/// use pbx_core::call::SkipReason;
/// use pbx_core::views::SkipView;
/// let json = serde_json::to_value(SkipView::from(&SkipReason::Internal)).unwrap();
/// assert_eq!(json["reason"], "INTERNAL");
/// assert!(json.get("extension").is_none());
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct SkipView {
    /// [`SkipReason::code`].
    pub reason: &'static str,
    /// The reason in words.
    pub message: String,
    /// [`SkipReason::extension`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

impl From<&SkipReason> for SkipView {
    fn from(r: &SkipReason) -> Self {
        SkipView {
            reason: r.code(),
            message: r.to_string(),
            extension: r.extension().map(str::to_owned),
        }
    }
}

/// The outcome of mapping one record (`MapResult`, or `LineOutcome` with `line`): exactly one
/// of `call`, `skipped` and `error`.
///
/// ```
/// use pbx_core::call::{Mapped, SkipReason};
/// use pbx_core::views::MapOutcome;
/// let skipped = MapOutcome::new(Some(3), Ok(Mapped::Skipped(SkipReason::Internal)));
/// let json = serde_json::to_value(&skipped).unwrap();
/// assert_eq!(json["line"], 3);
/// assert_eq!(json["skipped"]["reason"], "INTERNAL");
/// assert!(json.get("call").is_none() && json.get("error").is_none());
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct MapOutcome {
    /// The 1-based line of the record, in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The call request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<CallRequest>,
    /// Why the call is not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipView>,
    /// Why the record could not be mapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

impl MapOutcome {
    /// The view of a mapping's result, at `line` when the record came from a batch.
    pub fn new(line: Option<u64>, result: Result<Mapped, crate::Error>) -> Self {
        let (mapped, error) = match result {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(ErrorInfo::from(&e))),
        };
        MapOutcome {
            line,
            call: mapped.as_ref().and_then(Mapped::call).cloned(),
            skipped: mapped
                .as_ref()
                .and_then(Mapped::skip_reason)
                .map(SkipView::from),
            error,
        }
    }
}

/// A [`Classification`] (`Classification`): the direction's and the rule's codes (`rule` and
/// `ruleCode` alike), the rule in words (`explanation`), the owner, the other party.
///
/// ```
/// use pbx_core::cdr::Cdr;
/// use pbx_core::direction::{DirectionPolicy, classify};
/// use pbx_core::views::ClassificationView;
/// let c = classify(&Cdr::default(), &DirectionPolicy::default());
/// let json = serde_json::to_value(ClassificationView::from(&c)).unwrap();
/// assert_eq!(json["direction"], "UNKNOWN");
/// assert_eq!(json["ruleCode"], json["rule"]);
/// ```
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationView {
    /// The direction's code.
    pub direction: &'static str,
    /// The rule's code.
    pub rule: &'static str,
    /// The rule's code again (its published name).
    pub rule_code: &'static str,
    /// The rule in words.
    pub explanation: String,
    /// The owning extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The other party as the record has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
}

impl From<&Classification> for ClassificationView {
    fn from(c: &Classification) -> Self {
        ClassificationView {
            direction: c.direction.code(),
            rule: c.rule.code(),
            rule_code: c.rule.code(),
            explanation: c.rule.to_string(),
            owner: c.owner.clone(),
            counterpart: c.counterpart.as_ref().map(|n| n.as_str().to_owned()),
        }
    }
}

/// A [`User`] (`User`): extension, email and name.
///
/// ```
/// use pbx_core::extensions::User;
/// use pbx_core::views::UserView;
/// let json = serde_json::to_value(UserView::from(&User::new("101", "a@example.com"))).unwrap();
/// assert_eq!(json, serde_json::json!({"extension": "101", "email": "a@example.com"}));
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    /// The extension.
    pub extension: String,
    /// The email.
    pub email: String,
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            extension: u.extension.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

/// An [`HoursState`] (`HoursStatus`): open or not, its code, the holiday's or closure's name.
///
/// ```
/// use pbx_core::hours::BusinessHours;
/// use pbx_core::views::HoursStatus;
/// let state = BusinessHours::always(chrono_tz::UTC).state(chrono::DateTime::UNIX_EPOCH);
/// let json = serde_json::to_value(HoursStatus::from(&state)).unwrap();
/// assert_eq!(json, serde_json::json!({"open": true, "reason": "always"}));
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct HoursStatus {
    /// Open.
    pub open: bool,
    /// [`HoursState::code`].
    pub reason: &'static str,
    /// [`HoursState::name`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&HoursState> for HoursStatus {
    fn from(s: &HoursState) -> Self {
        HoursStatus {
            open: s.is_open(),
            reason: s.code(),
            name: s.name().map(str::to_owned),
        }
    }
}

/// An [`AlertAction`] (`GroupAction`): its code, group and alert type; for `open` the request
/// to post, for `resolve` the alert's id, the reason's code and the alert as the monitor state
/// holds it.
///
/// ```
/// use pbx_core::groups::{AlertAction, AlertRequest, AlertType};
/// use pbx_core::views::ActionView;
/// let open = AlertAction::Open(AlertRequest { call_group_id: "800".into(),
///     call_group_name: "Support".into(), alert_type: AlertType::NoAssignedUsers,
///     alert_message: "m".into() });
/// let json = serde_json::to_value(ActionView::from(open)).unwrap();
/// assert_eq!(json["action"], "open");
/// assert_eq!(json["groupId"], "800");
/// assert_eq!(json["request"]["callGroupId"], "800");
/// ```
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    /// [`AlertAction::code`].
    pub action: &'static str,
    /// The group's id.
    pub group_id: String,
    /// The alert's type.
    pub alert_type: String,
    /// The request to post (`open`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<AlertRequest>,
    /// The backend's id of the alert (`resolve`), once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// Why it is resolved (`resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The alert as the monitor state holds it (`resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<OpenAlert>,
}

impl From<AlertAction> for ActionView {
    fn from(a: AlertAction) -> Self {
        let base = ActionView {
            action: a.code(),
            group_id: a.group_id().to_owned(),
            ..ActionView::default()
        };
        match a {
            AlertAction::Open(r) => ActionView {
                alert_type: r.alert_type.to_string(),
                request: Some(r),
                ..base
            },
            AlertAction::Resolve { alert, reason, .. } => ActionView {
                alert_type: alert.alert_type.to_string(),
                alert_id: alert.alert_id.as_ref().map(ToString::to_string),
                reason: Some(reason.code()),
                alert: Some(alert),
                ..base
            },
        }
    }
}
