//! Extension → user (email, name): who owns a call.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::Error;

/// A person behind an extension.
///
/// ```
/// let u = pbx_core::extensions::User::new("101", "anna.berg@example.com");
/// assert_eq!(u.email, "anna.berg@example.com");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The extension number, e.g. `"101"`.
    pub extension: String,
    /// The user's email (what the call API keys calls by).
    pub email: String,
    /// A display name, when known.
    pub name: Option<String>,
}

impl User {
    /// A user with an extension and an email, and no name.
    pub fn new(extension: impl Into<String>, email: impl Into<String>) -> Self {
        User {
            extension: extension.into(),
            email: email.into(),
            name: None,
        }
    }
}

/// What to do with a call whose owning extension has no user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnerFallback {
    /// Skip the call, with the reason (the default).
    #[default]
    Skip,
    /// Attribute it to this email.
    DefaultEmail(String),
}

/// The extension → user map, with a fallback for extensions it does not hold.
///
/// It deserializes from a map whose values are an email or `{email, name}`:
/// ```
/// use pbx_core::extensions::ExtensionMap;
/// let map: ExtensionMap = serde_json::from_str(
///     r#"{"101": {"email": "anna.berg@example.com", "name": "Anna Berg"}, "102": "bob.smith@example.com"}"#)?;
/// assert_eq!(map.email_for("102"), Some("bob.smith@example.com"));
/// assert_eq!(map.get("101").and_then(|u| u.name.as_deref()), Some("Anna Berg"));
/// assert_eq!(map.email_for("112"), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionMap {
    users: HashMap<String, User>,
    fallback: OwnerFallback,
}

impl ExtensionMap {
    /// An empty map (every call's owner is then unknown unless a fallback is set).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a user.
    pub fn insert(&mut self, user: User) {
        self.users.insert(user.extension.clone(), user);
    }

    /// Sets what happens for an extension with no user.
    ///
    /// ```
    /// use pbx_core::extensions::{ExtensionMap, OwnerFallback};
    /// let map = ExtensionMap::new().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into()));
    /// assert_eq!(map.email_for("999"), Some("pbx@example.com"));
    /// ```
    pub fn with_fallback(mut self, fallback: OwnerFallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// The user of an extension, if mapped.
    pub fn get(&self, extension: &str) -> Option<&User> {
        self.users.get(extension)
    }

    /// The email to attribute a call to: the user's, else the fallback's default email.
    pub fn email_for(&self, extension: &str) -> Option<&str> {
        self.users
            .get(extension)
            .map(|u| u.email.as_str())
            .or(match &self.fallback {
                OwnerFallback::DefaultEmail(e) => Some(e.as_str()),
                OwnerFallback::Skip => None,
            })
    }

    /// This map with every user of `overrides` added or replacing ours, and `overrides`'
    /// fallback (a map from config winning over one read from the PBX).
    ///
    /// ```
    /// use pbx_core::extensions::{ExtensionMap, User};
    /// let pbx: ExtensionMap = [User::new("101", "old@example.com"), User::new("102", "b@example.com")].into_iter().collect();
    /// let config: ExtensionMap = [User::new("101", "a@example.com")].into_iter().collect();
    /// let merged = pbx.merged_with(&config);
    /// assert_eq!(merged.email_for("101"), Some("a@example.com"));
    /// assert_eq!(merged.email_for("102"), Some("b@example.com"));
    /// ```
    pub fn merged_with(mut self, overrides: &ExtensionMap) -> ExtensionMap {
        for user in overrides.users.values() {
            self.insert(user.clone());
        }
        self.fallback = overrides.fallback.clone();
        self
    }

    /// How many users are mapped.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether no user is mapped.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl ExtensionMap {
    /// Reads an extension file (YAML or JSON) in any of the shapes people write:
    ///
    /// - a flat map, `"101": anna@example.com` (what people write first);
    /// - under `extensions:`, each extension an email or `{email, name}`;
    /// - the configuration file's own shape, `extensions: {map: {…}, default_email: …}`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the entry (`extensions.101.email`) and what is wrong:
    /// not YAML, not a map, an entry without an email or with one that is not an address.
    ///
    /// ```
    /// use pbx_core::extensions::ExtensionMap;
    /// let flat = ExtensionMap::from_yaml("\"101\": anna@example.com\n102: {email: bob@example.com}\n")?;
    /// assert_eq!(flat.email_for("101"), Some("anna@example.com"));
    /// let nested = ExtensionMap::from_yaml("extensions:\n  \"101\": anna@example.com\n")?;
    /// assert_eq!(nested, ExtensionMap::from_yaml("{\"101\": \"anna@example.com\"}")?);
    /// let config = ExtensionMap::from_yaml(
    ///     "extensions:\n  map:\n    \"101\": anna@example.com\n  default_email: pbx@example.com\n")?;
    /// assert_eq!(config.email_for("999"), Some("pbx@example.com"));
    /// assert!(ExtensionMap::from_yaml("\"101\": not-an-email\n").is_err());
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_yaml(text: &str) -> Result<ExtensionMap, Error> {
        let bad = |setting: &str, value: &Value, reason: &str| Error::InvalidSetting {
            setting: setting.to_owned(),
            value: match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
            reason: reason.to_owned(),
        };
        let root: Value = if text.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_saphyr::from_str(text).map_err(|e| Error::InvalidSetting {
                setting: "extensions".into(),
                value: String::new(),
                reason: format!("not a YAML or JSON map: {e}"),
            })?
        };
        let Value::Object(root) = root else {
            return Err(bad(
                "extensions",
                &root,
                "expected a map of extension to email (\"101\": anna@example.com)",
            ));
        };
        let (entries, prefix, default_email) = match root.get("extensions") {
            Some(Value::Object(inner)) => match inner.get("map") {
                Some(Value::Object(map)) => (
                    map.clone(),
                    "extensions.map",
                    inner.get("default_email").cloned(),
                ),
                _ => (inner.clone(), "extensions", None),
            },
            Some(Value::Null) => (serde_json::Map::new(), "extensions", None),
            Some(other) => {
                return Err(bad(
                    "extensions",
                    other,
                    "expected a map of extension to email under `extensions:`",
                ));
            }
            None => (root, "extensions", None),
        };
        let mut out = ExtensionMap::new();
        for (extension, entry) in entries {
            let path = format!("{prefix}.{extension}");
            let (email, name) = match &entry {
                Value::String(e) => (e.clone(), None),
                Value::Object(o) => match o.get("email") {
                    Some(Value::String(e)) => (
                        e.clone(),
                        o.get("name").and_then(Value::as_str).map(str::to_owned),
                    ),
                    Some(other) => {
                        return Err(bad(&format!("{path}.email"), other, "expected an email"));
                    }
                    None => return Err(bad(&format!("{path}.email"), &Value::Null, "is required")),
                },
                other => {
                    return Err(bad(&path, other, "expected an email or {email, name}"));
                }
            };
            let email = email.trim().to_owned();
            if !looks_like_email(&email) {
                return Err(bad(
                    &format!("{path}.email"),
                    &Value::String(email),
                    "is not an email address",
                ));
            }
            out.insert(User {
                extension: extension.trim().to_owned(),
                email,
                name,
            });
        }
        match default_email {
            None | Some(Value::Null) => {}
            Some(Value::String(e)) if looks_like_email(e.trim()) => {
                out = out.with_fallback(OwnerFallback::DefaultEmail(e.trim().to_owned()));
            }
            Some(other) => {
                return Err(bad(
                    "extensions.default_email",
                    &other,
                    "is not an email address",
                ));
            }
        }
        Ok(out)
    }
}

/// `local@domain.tld`, without whitespace (the same test the configuration applies).
pub(crate) fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if !a.is_empty() && b.contains('.') && !s.contains(char::is_whitespace))
}

impl FromIterator<User> for ExtensionMap {
    fn from_iter<I: IntoIterator<Item = User>>(iter: I) -> Self {
        let mut map = ExtensionMap::new();
        for u in iter {
            map.insert(u);
        }
        map
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Email(String),
    Full { email: String, name: Option<String> },
}

impl<'de> Deserialize<'de> for ExtensionMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: HashMap<String, Entry> = HashMap::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(extension, e)| match e {
                Entry::Email(email) => User {
                    extension,
                    email,
                    name: None,
                },
                Entry::Full { email, name } => User {
                    extension,
                    email,
                    name,
                },
            })
            .collect())
    }
}
