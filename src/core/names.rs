//! Anthropic API model names resolved from the catalog (see `catalog::names` for the
//! matching rules), cached, and what Bedrock refused per model.
//!
//! - A resolution is cached per control-plane scope for the catalog's TTL; concurrent misses
//!   for one name wait for one computation (moka's `try_get_with`), and the catalog under it
//!   makes one control-plane call per query.
//! - When the control plane cannot be reached, the static table
//!   [`crate::config::BUILTIN_MODEL_ALIASES`] answers, with a warning (not cached).
//! - A model whose betas Bedrock refused (`invalid beta flag`) is remembered for the catalog's
//!   TTL, so its next calls go without betas at once.

use std::sync::Arc;

use moka::future::Cache;

use crate::bedrock::control::{ModelFilters, Scope};
use crate::catalog::{names, Catalog, Query};
use crate::config::BUILTIN_MODEL_ALIASES;
use crate::core::profiles::Profile;
use crate::error::ProxyError;
use crate::settings::ModelsConfig;

/// What a name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The Bedrock id to call (a model id or an inference-profile id).
    Found(String),
    /// No model of the catalog answers to the name; the names that look like it.
    Unknown { close: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    scope: Scope,
    prefer_global: bool,
    name: String,
}

/// The cached resolutions and the models whose betas were refused.
#[derive(Debug)]
pub struct ModelNames {
    resolved: Cache<Key, Arc<Resolution>>,
    refused_betas: Cache<String, ()>,
}

impl ModelNames {
    pub fn new(config: &ModelsConfig) -> ModelNames {
        let capacity = config.max_entries.max(64);
        ModelNames {
            resolved: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(config.ttl)
                .build(),
            refused_betas: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(config.ttl)
                .build(),
        }
    }

    /// Resolve `name` with the catalog of `home`'s region (see the module docs). Only names
    /// of Anthropic's form (`claude-…`) are looked up; any other is unknown at once.
    pub async fn resolve(&self, catalog: &Catalog, home: &Profile, name: &str) -> Resolution {
        if !name.trim().to_ascii_lowercase().starts_with("claude") {
            return Resolution::Unknown { close: Vec::new() };
        }
        let target = home.control_target();
        let key = Key {
            scope: target.scope.clone(),
            prefer_global: home.model_id.starts_with("global."),
            name: name.trim().to_ascii_lowercase(),
        };
        let prefer_global = key.prefer_global;
        let computed = self
            .resolved
            .try_get_with(key, async {
                let text = ModelFilters::new(None, Some("TEXT"), None, None);
                let models = catalog
                    .lookup(&target, Query::FoundationModels(text), false)
                    .await?;
                let models = models.data.value.as_array().cloned().unwrap_or_default();
                let Some(model) = names::matching_model(name, &models) else {
                    let close = names::close_matches(name, &names::anthropic_names(&models));
                    return Ok(Arc::new(Resolution::Unknown { close }));
                };
                let profiles = catalog
                    .lookup(&target, Query::InferenceProfiles(None), false)
                    .await?;
                let profiles = profiles.data.value.as_array().cloned().unwrap_or_default();
                let id = names::invocation_id(model, &profiles, &home.region, prefer_global);
                Ok::<_, ProxyError>(Arc::new(Resolution::Found(id)))
            })
            .await;
        match computed {
            Ok(resolution) => (*resolution).clone(),
            Err(e) => fallback(name, &e),
        }
    }

    /// Whether Bedrock refused the betas of `model_id` since the catalog last refreshed.
    pub fn betas_refused(&self, model_id: &str) -> bool {
        self.refused_betas.contains_key(model_id)
    }

    /// Remember that Bedrock refused the betas of `model_id`.
    pub async fn refuse_betas(&self, model_id: &str) {
        tracing::warn!(
            model = model_id,
            "Bedrock refused the betas sent for this model; its calls go without betas until the catalog refreshes"
        );
        self.refused_betas.insert(model_id.to_string(), ()).await;
    }
}

/// The static table's answer when the control plane could not be asked.
fn fallback(name: &str, error: &ProxyError) -> Resolution {
    let wanted = name.trim().to_ascii_lowercase();
    let found = BUILTIN_MODEL_ALIASES
        .iter()
        .find(|(alias, _)| *alias == wanted)
        .map(|(_, id)| id.to_string());
    tracing::warn!(
        model = name,
        error = %error,
        fallback = ?found,
        "the control plane could not be asked to resolve a model name; using the built-in table"
    );
    match found {
        Some(id) => Resolution::Found(id),
        None => {
            let known: Vec<String> = BUILTIN_MODEL_ALIASES
                .iter()
                .map(|(a, _)| a.to_string())
                .collect();
            Resolution::Unknown {
                close: names::close_matches(name, &known),
            }
        }
    }
}
