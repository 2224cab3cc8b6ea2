//! `GET /v1/models` and `GET /v1/models/{id}`: the names a client can put in `model`, in one
//! shape both SDKs read. The `openai` SDK reads `object: "list"` and items with `id`,
//! `object: "model"`, `created`, `owned_by`; the `anthropic` SDK reads `type`,
//! `display_name`, `created_at`, `has_more`, `first_id`, `last_id`. Each answer has both.
//!
//! Listed, each once, in this order: the aliases, the profiles, then the catalog of the
//! default profile's region: its Claude models under their Anthropic API ids
//! (`claude-sonnet-4-5-20250929`, resolved as in `core::names`), the foundation models with
//! text output, and the inference profiles, every one callable by that id. The catalog part comes from the cached control-plane
//! answers; if the control plane cannot be reached, it is left out (with a warning).

use std::collections::BTreeSet;
use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use crate::bedrock::control::ModelFilters;
use crate::catalog::names::anthropic_id;
use crate::catalog::Query as CatalogQuery;
use crate::core::Pipeline;
use crate::error::{ApiError, ProxyError};
use crate::http::guard::ClientKey;
use crate::http::payload::{Described, JsonOf, RawResponse};
use crate::http::render::{self, Dialect};
use crate::http::ApiTags;

pub struct ModelsV1Api {
    pub pipeline: Arc<Pipeline>,
    /// When this proxy started: the `created` / `created_at` of the names it defines.
    pub started: std::time::SystemTime,
}

/// One model, readable by the openai and the anthropic SDKs.
#[derive(Object, Clone)]
pub struct V1Model {
    /// Usable as `model`: an alias, a profile name or a Bedrock id.
    pub id: String,
    /// `model` (OpenAI).
    pub object: String,
    /// Unix seconds (OpenAI).
    pub created: u64,
    /// `bedrock-proxy` for aliases and profiles, else the model's provider (OpenAI).
    pub owned_by: String,
    /// `model` (Anthropic).
    #[oai(rename = "type")]
    pub kind: String,
    /// What the name stands for (Anthropic).
    pub display_name: String,
    /// RFC 3339 (Anthropic).
    pub created_at: String,
}

/// A page of models.
#[derive(Object)]
pub struct V1ModelList {
    /// `list` (OpenAI).
    pub object: String,
    pub data: Vec<V1Model>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub first_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub last_id: Option<String>,
}

impl Described for V1ModelList {
    const DESCRIPTION: &'static str =
        "The names `model` accepts: aliases, profiles, and the catalog's models and inference profiles.";
    const DIALECT: Dialect = Dialect::Anthropic;
}

impl Described for V1Model {
    const DESCRIPTION: &'static str = "One name `model` accepts.";
    const DIALECT: Dialect = Dialect::Anthropic;
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

impl ModelsV1Api {
    fn entry(&self, id: &str, display_name: String, owned_by: &str) -> V1Model {
        let created = self
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        V1Model {
            id: id.to_string(),
            object: "model".into(),
            created,
            owned_by: owned_by.to_string(),
            kind: "model".into(),
            display_name,
            created_at: super::models::rfc3339(self.started),
        }
    }

    /// Every name `model` accepts, each once: aliases, profiles, then the catalog.
    async fn model_list(&self) -> Vec<V1Model> {
        let routing = &self.pipeline.routing;
        let mut list: Vec<V1Model> = routing
            .aliases
            .iter()
            .map(|(alias, target)| {
                self.entry(alias, format!("{alias} (→ {target})"), "bedrock-proxy")
            })
            .collect();
        for p in self.pipeline.profiles.iter() {
            if !routing.aliases.contains_key(&p.name) {
                let shown = format!("{} ({} in {})", p.name, p.model_id, p.region);
                list.push(self.entry(&p.name, shown, "bedrock-proxy"));
            }
        }
        let mut seen: BTreeSet<String> = list.iter().map(|m| m.id.clone()).collect();
        for m in self.catalog_models().await {
            if seen.insert(m.id.clone()) {
                list.push(m);
            }
        }
        list
    }

    /// The default profile's region's text models and inference profiles, from the cache.
    async fn catalog_models(&self) -> Vec<V1Model> {
        let pipeline = &self.pipeline;
        let target = pipeline.profiles.default_profile().control_target();
        let text = ModelFilters::new(None, Some("TEXT"), None, None);
        let (models, profiles) = tokio::join!(
            pipeline
                .catalog
                .lookup(&target, CatalogQuery::FoundationModels(text), false),
            pipeline
                .catalog
                .lookup(&target, CatalogQuery::InferenceProfiles(None), false),
        );
        let mut out = Vec::new();
        match models {
            Ok(l) => {
                let models = l
                    .data
                    .value
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                // The Claude models under their Anthropic API ids first, then every Bedrock id.
                let anthropic = models.iter().filter_map(|m| {
                    let id = field(m, "modelId")?;
                    let name = field(m, "modelName").unwrap_or(id);
                    let anthropic = anthropic_id(id)?;
                    Some(self.entry(&anthropic, format!("{name} (→ {id})"), "anthropic"))
                });
                let bedrock = models.iter().filter_map(|m| {
                    let id = field(m, "modelId")?;
                    let name = field(m, "modelName").unwrap_or(id);
                    let provider = field(m, "providerName")
                        .unwrap_or("bedrock")
                        .to_ascii_lowercase();
                    Some(self.entry(id, name.to_string(), &provider))
                });
                out.extend(anthropic.chain(bedrock));
            }
            Err(e) => tracing::warn!(error = %e, "/v1/models: the catalog's models are left out"),
        }
        match profiles {
            Ok(l) => out.extend(
                l.data
                    .value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let id = field(p, "inferenceProfileId")?;
                        let name = field(p, "inferenceProfileName").unwrap_or(id);
                        Some(self.entry(id, name.to_string(), "bedrock"))
                    }),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "/v1/models: the catalog's inference profiles are left out")
            }
        }
        out
    }
}

/// The page of `all` a request asks for: `(start, end, has_more)`.
fn page(
    all: &[V1Model],
    limit: usize,
    after: Option<&str>,
    before: Option<&str>,
) -> (usize, usize, bool) {
    let position = |id: &str| all.iter().position(|m| m.id == id);
    match (after, before) {
        (Some(after), _) => {
            let i = position(after).map(|i| i + 1).unwrap_or(all.len());
            let end = (i + limit).min(all.len());
            (i, end, end < all.len())
        }
        (None, Some(before)) => {
            let i = position(before).unwrap_or(0);
            let start = i.saturating_sub(limit);
            (start, i, start > 0)
        }
        (None, None) => {
            let end = limit.min(all.len());
            (0, end, end < all.len())
        }
    }
}

#[OpenApi]
impl ModelsV1Api {
    /// List models (Anthropic and OpenAI APIs)
    ///
    /// `GET /v1/models` for both SDKs: every alias and profile, then the default profile's
    /// catalog (text models and inference profiles), each usable as `model`.
    #[oai(path = "/v1/models", method = "get", tag = "ApiTags::Anthropic")]
    async fn models(
        &self,
        _key: ClientKey,
        /// Items per page (1–1000, default 20; the openai SDK sends none and pages on).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// Return the items after this id.
        after_id: Query<Option<String>>,
        /// Return the items before this id.
        before_id: Query<Option<String>>,
    ) -> poem::Result<RawResponse<JsonOf<V1ModelList>>> {
        // The validator above holds `limit` to 1–1000.
        let limit = limit.0.map_or(20, |n| n as usize);
        let all = self.model_list().await;
        let (start, end, has_more) =
            page(&all, limit, after_id.0.as_deref(), before_id.0.as_deref());
        let data = all[start..end].to_vec();
        let list = V1ModelList {
            object: "list".into(),
            has_more,
            first_id: data.first().map(|m| m.id.clone()),
            last_id: data.last().map(|m| m.id.clone()),
            data,
        };
        Ok(RawResponse::new(render::json(list.to_json_string())))
    }

    /// Get a model (Anthropic and OpenAI APIs)
    #[oai(
        path = "/v1/models/:model_id",
        method = "get",
        tag = "ApiTags::Anthropic"
    )]
    async fn model(
        &self,
        _key: ClientKey,
        model_id: Path<String>,
    ) -> poem::Result<RawResponse<JsonOf<V1Model>>> {
        let all = self.model_list().await;
        let Some(found) = all.iter().find(|m| m.id == model_id.0) else {
            return Err(ApiError::from(ProxyError::UnknownModel {
                name: model_id.0.clone(),
                valid: all.into_iter().map(|m| m.id).collect(),
                close: Vec::new(),
            })
            .into());
        };
        Ok(RawResponse::new(render::json(found.to_json_string())))
    }
}
