//! `pbx_core::extensions`: the extension → user map.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::extensions::{self as core, OwnerFallback};

use crate::args::{JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, invalid_argument};

/// A person behind an extension (the Python binding's `User`; `ExtensionUser` is this
/// type's former name, kept as a type alias).
#[napi(object)]
pub struct User {
    /// The extension, e.g. `"101"`.
    pub extension: String,
    /// The user's email.
    pub email: String,
    /// Display name, when known.
    pub name: Option<String>,
}

/// Extension → user (email, name), with an optional default email for unmapped extensions.
#[napi]
#[derive(Clone)]
pub struct ExtensionMap {
    pub(crate) inner: core::ExtensionMap,
}

#[napi]
impl ExtensionMap {
    /// A map from an object whose values are an email or `{ email, name }` (the shape of
    /// `extensions.yml`), and an email for extensions it does not hold (default: none, such
    /// calls are skipped). Throws `PBX_INVALID_ARGUMENT` when a value has another shape.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "Record<string, string | { email: string; name?: string }>")]
        map: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] default_email: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let f = "new ExtensionMap";
        let map: Option<JsonObject> = opt_arg(&env, f, "map", map)?;
        let default_email: Option<String> = opt_arg(&env, f, "defaultEmail", default_email)?;
        let mut inner = match map {
            None => core::ExtensionMap::new(),
            Some(JsonObject(v)) => {
                serde_json::from_value::<core::ExtensionMap>(v).map_err(|e| {
                    invalid_argument(
                        &env,
                        format!(
                            "extension map: {e} (each value must be an email or {{ email, name }})"
                        ),
                    )
                })?
            }
        };
        if let Some(email) = default_email {
            inner = inner.with_fallback(OwnerFallback::DefaultEmail(email));
        }
        Ok(ExtensionMap { inner })
    }

    /// The map of a loaded configuration (`extensions.map` and `extensions.default_email`).
    #[napi(factory)]
    pub fn from_config(
        env: Env,
        #[napi(ts_arg_type = "Config")] config: Unknown<'_>,
    ) -> Result<Self> {
        let config: ClassInstance<Config> = arg(&env, "ExtensionMap.fromConfig", "config", config)?;
        Ok(ExtensionMap {
            inner: config.inner.extensions.clone(),
        })
    }

    /// A map from YAML text: extension → email or `{ email, name }`; with `key`, the map is the
    /// value under that top-level key (`'extensions'` for `examples/data/extensions.yml`).
    /// Throws `PBX_INVALID_ARGUMENT` naming the key when the text is not such a map.
    #[napi(factory)]
    pub fn from_yaml(
        env: Env,
        #[napi(ts_arg_type = "string")] text: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] key: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] default_email: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let f = "ExtensionMap.fromYaml";
        let text: String = arg(&env, f, "text", text)?;
        let key: Option<String> = opt_arg(&env, f, "key", key)?;
        let default_email: Option<String> = opt_arg(&env, f, "defaultEmail", default_email)?;
        let mut inner = core::ExtensionMap::from_yaml(&text, key.as_deref()).or_throw(&env)?;
        if let Some(email) = default_email {
            inner = inner.with_fallback(OwnerFallback::DefaultEmail(email));
        }
        Ok(ExtensionMap { inner })
    }

    /// Adds or replaces a user.
    #[napi]
    pub fn set(
        &mut self,
        env: Env,
        #[napi(ts_arg_type = "string")] extension: Unknown<'_>,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] name: Option<Unknown<'_>>,
    ) -> Result<()> {
        let f = "ExtensionMap.set";
        let extension: String = arg(&env, f, "extension", extension)?;
        let email: String = arg(&env, f, "email", email)?;
        let name: Option<String> = opt_arg(&env, f, "name", name)?;
        let mut user = core::User::new(extension, email);
        user.name = name;
        self.inner.insert(user);
        Ok(())
    }

    /// The user of an extension, or `null`.
    #[napi]
    pub fn get(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] extension: Unknown<'_>,
    ) -> Result<Option<User>> {
        let extension: String = arg(&env, "ExtensionMap.get", "extension", extension)?;
        Ok(self.inner.get(&extension).map(|u| User {
            extension: u.extension.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }))
    }

    /// The email a call of this extension is attributed to (the user's, else the default
    /// email), or `null`.
    #[napi]
    pub fn email_for(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] extension: Unknown<'_>,
    ) -> Result<Option<String>> {
        let extension: String = arg(&env, "ExtensionMap.emailFor", "extension", extension)?;
        Ok(self.inner.email_for(&extension).map(str::to_owned))
    }

    /// How many users are mapped.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}
