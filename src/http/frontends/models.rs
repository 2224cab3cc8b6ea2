//! `GET /models`: the foundation models a profile's region offers, each with the inference
//! profiles that route it, answered from the control-plane cache (`catalog`).

use std::sync::Arc;

use poem::http::HeaderValue;
use poem::{Body, Response};
use poem_openapi::param::Query;
use poem_openapi::types::{Example, ToJSON};
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use crate::bedrock::control::ModelFilters;
use crate::catalog::{profiles_by_model, CacheStatus, Lookup, Query as CatalogQuery};
use crate::core::Pipeline;
use crate::error::ApiError;
use crate::http::params::{CustomizationType, InferenceType, OutputModality};
use crate::http::payload::{Described, JsonOf, RawResponse};
use crate::http::render::PROFILE_HEADER;
use crate::http::ApiTags;

/// Response header saying where an answer came from: `hit`, `miss` or `stale`.
pub const CACHE_HEADER: &str = "x-proxy-cache";

pub struct ModelsApi {
    pub pipeline: Arc<Pipeline>,
}

/// One foundation model.
#[derive(Object)]
pub struct ModelInfo {
    /// Foundation-model id (use it, or an inference profile below, as a profile's `model_id`).
    pub id: String,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub arn: Option<String>,
    pub input_modalities: Vec<String>,
    pub output_modalities: Vec<String>,
    pub response_streaming_supported: Option<bool>,
    /// `ON_DEMAND`, `PROVISIONED`, `INFERENCE_PROFILE` (only through an inference profile), …
    pub inference_types: Vec<String>,
    pub customizations: Vec<String>,
    /// `ACTIVE` or `LEGACY`.
    pub lifecycle_status: Option<String>,
    /// Inference-profile ids that route this model, callable from this region.
    pub inference_profiles: Vec<String>,
}

/// The models of one region.
#[derive(Object)]
#[oai(example)]
pub struct ModelList {
    /// The profile whose region was asked.
    pub profile: String,
    pub region: String,
    /// When AWS was asked (RFC 3339, UTC).
    pub fetched_at: String,
    /// Seconds since then.
    pub age_secs: u64,
    /// Answered from the cache (also in the `x-proxy-cache` header).
    pub cached: bool,
    /// Older than the cache TTL, because asking AWS again failed (see `refresh_error`).
    pub stale: bool,
    #[oai(skip_serializing_if_is_none)]
    pub refresh_error: Option<String>,
    /// Set when the inference profiles could not be listed (the models still are).
    #[oai(skip_serializing_if_is_none)]
    pub inference_profiles_error: Option<String>,
    pub models: Vec<ModelInfo>,
}

impl Described for ModelList {
    const DESCRIPTION: &'static str = "The models the profile's region offers.";
}

impl Example for ModelList {
    fn example() -> Self {
        ModelList {
            profile: "eu".into(),
            region: "eu-central-1".into(),
            fetched_at: "2026-11-25T09:00:00Z".into(),
            age_secs: 42,
            cached: true,
            stale: false,
            refresh_error: None,
            inference_profiles_error: None,
            models: vec![ModelInfo {
                id: "anthropic.claude-sonnet-4-20250514-v1:0".into(),
                name: Some("Claude Sonnet 4".into()),
                provider: Some("Anthropic".into()),
                arn: Some("arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0".into()),
                input_modalities: vec!["TEXT".into(), "IMAGE".into()],
                output_modalities: vec!["TEXT".into()],
                response_streaming_supported: Some(true),
                inference_types: vec!["INFERENCE_PROFILE".into()],
                customizations: vec![],
                lifecycle_status: Some("ACTIVE".into()),
                inference_profiles: vec!["eu.anthropic.claude-sonnet-4-20250514-v1:0".into()],
            }],
        }
    }
}

fn string(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// One model of a ListFoundationModels answer, with the inference profiles that route it.
fn model_info(m: &Value, by_model: &std::collections::HashMap<String, Vec<String>>) -> ModelInfo {
    let id = string(m, "modelId").unwrap_or_default();
    ModelInfo {
        inference_profiles: by_model.get(&id).cloned().unwrap_or_default(),
        id,
        name: string(m, "modelName"),
        provider: string(m, "providerName"),
        arn: string(m, "modelArn"),
        input_modalities: strings(m, "inputModalities"),
        output_modalities: strings(m, "outputModalities"),
        response_streaming_supported: m.get("responseStreamingSupported").and_then(Value::as_bool),
        inference_types: strings(m, "inferenceTypesSupported"),
        customizations: strings(m, "customizationsSupported"),
        lifecycle_status: m.get("modelLifecycle").and_then(|l| string(l, "status")),
    }
}

/// RFC 3339 UTC, e.g. `2026-11-25T09:00:00Z`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// A JSON response carrying how the cache answered (`x-proxy-cache`, `age`, and a `warning`
/// when stale).
pub fn cached_json(body: String, status: CacheStatus, age_secs: u64) -> Response {
    let mut builder = Response::builder()
        .content_type("application/json")
        .header(CACHE_HEADER, status.as_str())
        .header("age", age_secs.to_string());
    if status == CacheStatus::Stale {
        builder = builder.header(
            "warning",
            "110 bedrock-proxy \"Response is stale: refreshing from AWS failed\"",
        );
    }
    builder.body(Body::from_string(body))
}

#[OpenApi]
impl ModelsApi {
    /// List models
    ///
    /// The foundation models offered in the region of a profile (`aws bedrock
    /// list-foundation-models`), each with the inference-profile ids that route it, cached
    /// for `[models] ttl_secs`. `provider` is case-insensitive; the other filters take the values listed. The `x-proxy-cache` header says
    /// `hit`, `miss` or `stale`.
    #[oai(path = "/models", method = "get", tag = "ApiTags::Models")]
    async fn models(
        &self,
        /// Profile whose region (and credentials) to ask; default when absent.
        profile: Query<Option<String>>,
        /// Provider name, e.g. `anthropic`, `amazon`, `meta`.
        provider: Query<Option<String>>,
        output_modality: Query<Option<OutputModality>>,
        inference_type: Query<Option<InferenceType>>,
        customization_type: Query<Option<CustomizationType>>,
        /// Ask AWS now and store the answer, instead of using a cached one.
        refresh: Query<Option<bool>>,
    ) -> poem::Result<RawResponse<JsonOf<ModelList>>> {
        let pipeline = &self.pipeline;
        let profile = pipeline
            .profiles
            .resolve(profile.0.as_deref())
            .map_err(ApiError::from)?;
        let target = profile.control_target();
        let filters = ModelFilters::new(
            provider.0.as_deref(),
            output_modality.0.map(OutputModality::as_str),
            inference_type.0.map(InferenceType::as_str),
            customization_type.0.map(CustomizationType::as_str),
        );
        let refresh = refresh.0.unwrap_or(false);
        let (models, routes) = tokio::join!(
            pipeline
                .catalog
                .lookup(&target, CatalogQuery::FoundationModels(filters), refresh),
            pipeline
                .catalog
                .lookup(&target, CatalogQuery::InferenceProfiles(None), refresh),
        );
        let models: Lookup = models.map_err(|e| e.in_profile(&profile.name))?;
        let (by_model, status, routes_error) = match routes {
            Ok(r) => (
                profiles_by_model(r.data.value.as_array().map(Vec::as_slice).unwrap_or(&[])),
                models.status.combine(r.status),
                None,
            ),
            Err(e) => (Default::default(), models.status, Some(e.to_string())),
        };
        let age_secs = models.data.age().as_secs();
        let list = ModelList {
            profile: profile.name.clone(),
            region: profile.region.clone(),
            fetched_at: rfc3339(models.data.fetched_at),
            age_secs,
            cached: status != CacheStatus::Miss,
            stale: status == CacheStatus::Stale,
            refresh_error: models.refresh_error.clone(),
            inference_profiles_error: routes_error,
            models: models
                .data
                .value
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| model_info(m, &by_model))
                .collect(),
        };
        let mut response = cached_json(list.to_json_string(), status, age_secs);
        if let Ok(v) = HeaderValue::from_str(&profile.name) {
            response.headers_mut().insert(PROFILE_HEADER, v);
        }
        Ok(RawResponse::new(response))
    }
}
