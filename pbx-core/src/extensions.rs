//! Extension → user (email, name): who owns a call.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer};

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
    /// Where the user came from (the configuration's map, or 3CX's users over XAPI): what
    /// `explain` names as the email's origin.
    pub origin: UserOrigin,
}

/// Where a [`User`] came from.
///
/// ```
/// use pbx_core::extensions::{User, UserOrigin};
/// assert_eq!(User::new("101", "a@example.com").origin, UserOrigin::Map);
/// assert_eq!(UserOrigin::Xapi.code(), "xapi_user");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserOrigin {
    /// The configuration's `extensions.map` (or `pbx-convert --extensions`), the default.
    #[default]
    Map,
    /// A 3CX user read over XAPI (`extensions_from_xapi`).
    Xapi,
}

impl UserOrigin {
    /// A stable code: `map` or `xapi_user`.
    pub fn code(self) -> &'static str {
        match self {
            UserOrigin::Map => "map",
            UserOrigin::Xapi => "xapi_user",
        }
    }
}

/// Where a call owner's email came from ([`ExtensionMap::email_source`]).
///
/// ```
/// use pbx_core::extensions::EmailSource;
/// assert_eq!(EmailSource::DefaultEmail.code(), "default_email");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailSource {
    /// The extension's user in the configuration's map.
    Map,
    /// The extension's 3CX user, read over XAPI.
    XapiUser,
    /// No user for the extension: the configured `default_email`.
    DefaultEmail,
}

impl EmailSource {
    /// A stable code: `map`, `xapi_user` or `default_email`.
    pub fn code(self) -> &'static str {
        match self {
            EmailSource::Map => "map",
            EmailSource::XapiUser => "xapi_user",
            EmailSource::DefaultEmail => "default_email",
        }
    }
}

impl std::fmt::Display for EmailSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EmailSource::Map => "the extension map (extensions.map)",
            EmailSource::XapiUser => "the extension's 3CX user (XAPI)",
            EmailSource::DefaultEmail => "extensions.default_email (the extension has no user)",
        })
    }
}

impl User {
    /// A user with an extension and an email, and no name.
    pub fn new(extension: impl Into<String>, email: impl Into<String>) -> Self {
        User {
            extension: extension.into(),
            email: email.into(),
            name: None,
            origin: UserOrigin::Map,
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

    /// Sets `email`, when given, as the fallback of an extension with no user
    /// ([`OwnerFallback::DefaultEmail`]): a binding's `default_email` argument.
    ///
    /// ```
    /// use pbx_core::extensions::ExtensionMap;
    /// let map = ExtensionMap::new().with_default_email(Some("pbx@example.com".into()));
    /// assert_eq!(map.email_for("999"), Some("pbx@example.com"));
    /// assert_eq!(ExtensionMap::new().with_default_email(None).email_for("999"), None);
    /// ```
    pub fn with_default_email(self, email: Option<String>) -> Self {
        match email {
            Some(email) => self.with_fallback(OwnerFallback::DefaultEmail(email)),
            None => self,
        }
    }

    /// The user of an extension, if mapped.
    pub fn get(&self, extension: &str) -> Option<&User> {
        self.users.get(extension)
    }

    /// The email to attribute a call to: the user's, else the fallback's default email.
    pub fn email_for(&self, extension: &str) -> Option<&str> {
        self.email_source(extension).map(|(email, _)| email)
    }

    /// [`ExtensionMap::email_for`] with where the email came from: the user's (from the map
    /// or from XAPI, by [`User::origin`]), else the fallback's default email.
    ///
    /// ```
    /// use pbx_core::extensions::{EmailSource, ExtensionMap, OwnerFallback, User};
    /// let map: ExtensionMap = [User::new("101", "a@example.com")].into_iter().collect();
    /// let map = map.with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into()));
    /// assert_eq!(map.email_source("101"), Some(("a@example.com", EmailSource::Map)));
    /// assert_eq!(map.email_source("999"), Some(("pbx@example.com", EmailSource::DefaultEmail)));
    /// ```
    pub fn email_source(&self, extension: &str) -> Option<(&str, EmailSource)> {
        match self.users.get(extension) {
            Some(u) => Some((
                u.email.as_str(),
                match u.origin {
                    UserOrigin::Map => EmailSource::Map,
                    UserOrigin::Xapi => EmailSource::XapiUser,
                },
            )),
            None => match &self.fallback {
                OwnerFallback::DefaultEmail(e) => Some((e.as_str(), EmailSource::DefaultEmail)),
                OwnerFallback::Skip => None,
            },
        }
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
    /// Reads a YAML mapping of extension → email or `{email, name}` (the shape of
    /// `extensions.map`). With `key`, the map is the value under that top-level key
    /// (`Some("extensions")` for `examples/data/extensions.yml`).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) at `key` (or `extensions`)
    /// when the text is not YAML, the key is missing, or a value has another shape.
    ///
    /// ```
    /// use pbx_core::extensions::ExtensionMap;
    /// let yaml = "extensions:\n  '101': anna@example.com\n";
    /// let map = ExtensionMap::from_yaml(yaml, Some("extensions")).unwrap();
    /// assert_eq!(map.email_for("101"), Some("anna@example.com"));
    /// assert!(ExtensionMap::from_yaml(yaml, Some("users")).is_err());
    /// ```
    pub fn from_yaml(text: &str, key: Option<&str>) -> Result<Self, crate::Error> {
        let bad = |reason: String| crate::Error::InvalidSetting {
            setting: key.unwrap_or("extensions").to_owned(),
            value: String::new(),
            reason,
        };
        let mut doc: HashMap<String, serde_json::Value> = match key {
            Some(_) => serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?,
            None => HashMap::new(),
        };
        let value = match key {
            Some(k) => doc
                .remove(k)
                .ok_or_else(|| bad(format!("no top-level key {k:?}")))?,
            None => serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?,
        };
        serde_json::from_value(value).map_err(|e| {
            bad(format!(
                "not an extension map ({e}); each value is an email or {{email, name}}"
            ))
        })
    }
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
                    origin: UserOrigin::Map,
                },
                Entry::Full { email, name } => User {
                    extension,
                    email,
                    name,
                    origin: UserOrigin::Map,
                },
            })
            .collect())
    }
}
