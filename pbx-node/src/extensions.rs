//! `pbx_core::extensions`: the extension → user map.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::extensions as core;
use pbx_core::views::UserView;

use crate::Js;
use crate::args::{JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, invalid_argument};

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
    #[napi(
        constructor,
        ts_args_type = "map?: Record<string, string | { email: string; name?: string }>, defaultEmail?: string | undefined | null"
    )]
    pub fn new(
        env: Env,
        map: Option<Unknown<'_>>,
        default_email: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let f = "new ExtensionMap";
        let map: Option<JsonObject> = opt_arg(&env, f, "map", map)?;
        let default_email: Option<String> = opt_arg(&env, f, "defaultEmail", default_email)?;
        let inner = match map {
            None => core::ExtensionMap::new(),
            Some(JsonObject(v)) => serde_json::from_value(v).map_err(|e| {
                let hint = "each value must be an email or { email, name }";
                invalid_argument(&env, format!("extension map: {e} ({hint})"))
            })?,
        };
        Ok(ExtensionMap {
            inner: inner.with_default_email(default_email),
        })
    }

    /// The map of a loaded configuration (`extensions.map` and `extensions.default_email`).
    #[napi(factory, ts_args_type = "config: Config")]
    pub fn from_config(env: Env, config: Unknown<'_>) -> Result<Self> {
        let config: ClassInstance<Config> = arg(&env, "ExtensionMap.fromConfig", "config", config)?;
        Ok(ExtensionMap {
            inner: config.inner.extensions.clone(),
        })
    }

    /// A map from YAML text: extension → email or `{ email, name }`; with `key`, the map is the
    /// value under that top-level key (`'extensions'` for `examples/data/extensions.yml`).
    /// Throws `PBX_INVALID_ARGUMENT` naming the key when the text is not such a map.
    #[napi(
        factory,
        ts_args_type = "text: string, key?: string | undefined | null, defaultEmail?: string | undefined | null"
    )]
    pub fn from_yaml(
        env: Env,
        text: Unknown<'_>,
        key: Option<Unknown<'_>>,
        default_email: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let f = "ExtensionMap.fromYaml";
        let text: String = arg(&env, f, "text", text)?;
        let key: Option<String> = opt_arg(&env, f, "key", key)?;
        let default_email: Option<String> = opt_arg(&env, f, "defaultEmail", default_email)?;
        let inner = core::ExtensionMap::from_yaml(&text, key.as_deref()).or_throw(&env)?;
        Ok(ExtensionMap {
            inner: inner.with_default_email(default_email),
        })
    }

    /// Adds or replaces a user.
    #[napi(ts_args_type = "extension: string, email: string, name?: string | undefined | null")]
    pub fn set(
        &mut self,
        env: Env,
        extension: Unknown<'_>,
        email: Unknown<'_>,
        name: Option<Unknown<'_>>,
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
    #[napi(ts_args_type = "extension: string", ts_return_type = "User | null")]
    pub fn get(&self, env: Env, extension: Unknown<'_>) -> Result<Option<Js<UserView>>> {
        let extension: String = arg(&env, "ExtensionMap.get", "extension", extension)?;
        Ok(self.inner.get(&extension).map(|u| Js(u.into())))
    }

    /// The email a call of this extension is attributed to (the user's, else the default
    /// email), or `null`.
    #[napi(ts_args_type = "extension: string")]
    pub fn email_for(&self, env: Env, extension: Unknown<'_>) -> Result<Option<String>> {
        let extension: String = arg(&env, "ExtensionMap.emailFor", "extension", extension)?;
        Ok(self.inner.email_for(&extension).map(str::to_owned))
    }

    /// How many users are mapped.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}
