//! The figment layers: built-in defaults, the file, `INFERENCE_PROFILE`, the `PROXY_…`
//! variables; and how figment's errors and metadata are put into words (the key, and the file
//! or variable it came from).

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

use super::{ConfigError, RawConfig, ReadEnv, ENV_PREFIX};
use crate::aws::Geography;

/// Every layer merged: defaults < the file at `path` (if it exists) < `INFERENCE_PROFILE` <
/// the `PROXY_…` variables.
pub(super) fn figment(path: &Path, env: ReadEnv<'_>) -> Result<Figment, ConfigError> {
    let proxy_env = || {
        Env::prefixed(ENV_PREFIX)
            .split("__")
            // Not configuration keys: the file path and the client API keys.
            .ignore(&["config", "api_keys", "api_keys_file"])
            .filter(|k| !k.as_str().is_empty())
    };
    // Only the named file (no search in parent directories); a missing default is fine.
    let with_file = || {
        let defaults = Figment::from(Serialized::defaults(RawConfig::default()));
        if path.exists() {
            defaults.merge(Toml::file_exact(path))
        } else {
            defaults
        }
    };
    let base = with_file().merge(proxy_env());
    // The legacy variables sit between the file and the PROXY_ variables.
    let default_name: String = base
        .extract_inner("server.default_profile")
        .map_err(|e| ConfigError::Parse(figment_message(&e)))?;
    let current_region: Option<String> = base
        .extract_inner(&format!("profiles.{default_name}.region"))
        .ok();
    Ok(
        match legacy_layer(env, &default_name, current_region.as_deref()) {
            Some(layer) => with_file().merge(layer).merge(proxy_env()),
            None => base,
        },
    )
}

/// `INFERENCE_PROFILE` as a configuration layer. A profile name selects the default profile;
/// anything else is the default profile's model id. Its region: the profile's own when that is
/// a source region of the id's geography (`eu.`, `us.`, …), else `AWS_REGION` when that is one,
/// else the geography's usual source region. An id without a geography prefix uses
/// `AWS_REGION` when set, else keeps the profile's region.
fn legacy_layer(
    env: ReadEnv<'_>,
    default_name: &str,
    current_region: Option<&str>,
) -> Option<Figment> {
    let value = env("INFERENCE_PROFILE")?;
    let value = value.trim().to_string();
    let mut layer = serde_json::Map::new();
    // Model ids always contain a `.` (`anthropic.…`) or a `:` (ARNs); profile names need not.
    let is_profile_name = !value.contains('.') && !value.contains(':');
    if is_profile_name {
        layer.insert(
            "server".into(),
            serde_json::json!({ "default_profile": value }),
        );
    } else {
        let mut profile = serde_json::json!({ "model_id": value });
        let region = match Geography::of_model_id(&value) {
            Some(geo) if current_region.is_some_and(|r| geo.accepts_region(r)) => None,
            Some(geo) => Some(
                aws_region(env)
                    .filter(|r| geo.accepts_region(r))
                    .unwrap_or_else(|| geo.default_region.to_string()),
            ),
            None => aws_region(env),
        };
        if let Some(region) = region {
            profile["region"] = serde_json::Value::String(region);
        }
        layer.insert(
            "profiles".into(),
            serde_json::json!({ default_name: profile }),
        );
    }
    Some(Figment::from(Named {
        inner: Serialized::defaults(serde_json::Value::Object(layer)),
        name: LEGACY_LAYER,
    }))
}

/// Name of the `INFERENCE_PROFILE` layer in messages.
const LEGACY_LAYER: &str = "environment variable INFERENCE_PROFILE";

/// A serialized layer with a name of its own, so errors and `--check` say where it came from.
struct Named {
    inner: Serialized<serde_json::Value>,
    name: &'static str,
}

impl figment::Provider for Named {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.name)
    }
    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.inner.data()
    }
}

pub(super) fn aws_region(env: ReadEnv<'_>) -> Option<String> {
    env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"))
}

pub(super) fn figment_message(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| {
            // Chain entries as `[i]`: `profiles.eu.request_transformers[0]` (the only arrays;
            // a profile may well be named `0`).
            let mut key = String::new();
            for p in e.path.iter().skip_while(|p| p.as_str() == "default") {
                if key.ends_with("_transformers") && p.chars().all(|c| c.is_ascii_digit()) {
                    key.push_str(&format!("[{p}]"));
                } else {
                    if !key.is_empty() {
                        key.push('.');
                    }
                    key.push_str(p);
                }
            }
            let from = match &e.metadata {
                Some(md) if md.name.contains("environment") => {
                    let var_key = key.split('[').next().unwrap_or(&key);
                    format!("environment variable {}", env_var_name(var_key))
                }
                Some(md) => match &md.source {
                    Some(figment::Source::File(p)) => p.display().to_string(),
                    _ => md.name.to_string(),
                },
                None => "configuration".to_string(),
            };
            if key.is_empty() {
                format!("{} (from {from})", e.kind)
            } else {
                format!("{key} (from {from}): {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `server.port` → `PROXY_SERVER__PORT`.
fn env_var_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_uppercase().replace('.', "__"))
}

/// Describe where a key's value came from, e.g. `proxy.toml` or `PROXY_SERVER__PORT`.
pub(super) fn origin(figment: &Figment, key: &str) -> String {
    // A key nobody set (e.g. the region of a new profile) is described by its nearest parent.
    let mut parts: Vec<&str> = key.split('.').collect();
    let md = loop {
        if parts.is_empty() {
            return "built-in defaults".to_string();
        }
        if let Some(md) = figment.find_metadata(&parts.join(".")) {
            break md;
        }
        parts.pop();
    };
    if md.name == LEGACY_LAYER {
        return LEGACY_LAYER.to_string();
    }
    if md.name.contains("environment") {
        return format!("environment variable {}", env_var_name(key));
    }
    match &md.source {
        Some(figment::Source::File(p)) => p.display().to_string(),
        _ if md.name == "Serialized" => "built-in defaults".to_string(),
        _ => md.name.to_string(),
    }
}
