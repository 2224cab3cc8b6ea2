//! The Anthropic Messages API, so the `anthropic` SDKs (`Anthropic(base_url=…)`) and Claude
//! Code (`ANTHROPIC_BASE_URL`) work through the proxy: `POST /v1/messages` (JSON, or with
//! `"stream": true` Anthropic's SSE, `ping` events included), `POST /v1/messages/count_tokens`
//! (Bedrock's CountTokens), `GET /v1/models` and `GET /v1/models/{id}`.
//!
//! The body's `model` picks the route (a profile name, an alias, or a Bedrock id; see
//! `routing`); the `anthropic-beta` header joins the body's `anthropic_beta` (and so passes
//! any `beta_filter`). Profiles, retries, fallbacks and transformer chains are the same as on
//! `/invoke`: these handlers only translate. Errors are in Anthropic's shape and types.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use poem::http::StatusCode;
use poem::{Body, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::guard::ClientKey;
use super::invoke::with_headers;
use super::payload::{Described, JsonBody, JsonOf, MessagesDoc, RawResponse};
use super::sse::Flavor;
use super::ApiTags;
use crate::bedrock::Operation;
use crate::error::{ApiError, Dialect, ProxyError};
use crate::pipeline::{parse_body, prepare_body, BodyMode, ClientRequest, Pipeline};
use crate::profiles::Profile;
use crate::routing::for_count_tokens;
use crate::transform::EndpointKind;

pub struct AnthropicApi {
    pub pipeline: Arc<Pipeline>,
    pub keepalive: Duration,
    /// When this proxy started (RFC 3339): the `created_at` of the models it lists.
    pub started: String,
}

/// One model in Anthropic's list shape.
#[derive(Object, Clone)]
pub struct AnthropicModel {
    #[oai(rename = "type")]
    pub kind: String,
    /// Usable as `model` in `/v1/messages`: a profile name or an alias.
    pub id: String,
    pub display_name: String,
    pub created_at: String,
}

/// `GET /v1/models`.
#[derive(Object)]
pub struct AnthropicModelList {
    pub data: Vec<AnthropicModel>,
    pub has_more: bool,
    #[oai(skip_serializing_if_is_none)]
    pub first_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub last_id: Option<String>,
}

impl Described for AnthropicModelList {
    const DESCRIPTION: &'static str =
        "The names `/v1/messages` accepts as `model`: every alias and profile.";
    const DIALECT: Dialect = Dialect::Anthropic;
}

impl Described for AnthropicModel {
    const DESCRIPTION: &'static str = "One name `/v1/messages` accepts as `model`.";
    const DIALECT: Dialect = Dialect::Anthropic;
}

/// `POST /v1/messages/count_tokens`.
#[derive(Object)]
pub struct TokenCount {
    pub input_tokens: u64,
}

impl Described for TokenCount {
    const DESCRIPTION: &'static str = "The number of input tokens the request would use.";
    const DIALECT: Dialect = Dialect::Anthropic;
}

fn invalid(message: impl Into<String>) -> poem::Error {
    ApiError::from(ProxyError::InvalidRequest(message.into()))
        .with_attempts(0)
        .into()
}

impl AnthropicApi {
    /// Parse the body, route its `model`, merge `anthropic-beta` into `anthropic_beta`.
    /// Answers the profile, the body to send on, and whether a stream was asked for.
    fn route(&self, req: &Request, raw: Bytes) -> poem::Result<(Arc<Profile>, Bytes, bool)> {
        let mut body: Map<String, Value> =
            parse_body(&raw).map_err(|e| ApiError::from(e).with_attempts(0))?;
        let model = match body.get("model") {
            Some(Value::String(m)) if !m.trim().is_empty() => m.trim().to_string(),
            Some(_) => return Err(invalid("model: must be a non-empty string")),
            None => return Err(invalid("model: Field required")),
        };
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("stream: must be a boolean")),
        };
        let betas: Vec<String> = req
            .headers()
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect();
        let betas_merged = !betas.is_empty();
        if betas_merged {
            let list = body
                .entry("anthropic_beta")
                .or_insert_with(|| Value::Array(Vec::new()));
            match list {
                Value::Array(items) => {
                    for beta in betas {
                        if !items.iter().any(|i| i.as_str() == Some(&beta)) {
                            items.push(Value::String(beta));
                        }
                    }
                }
                _ => return Err(invalid("anthropic_beta: must be an array of strings")),
            }
        }
        let routed = self
            .pipeline
            .routing
            .route(&self.pipeline.profiles, &model)
            .map_err(|e| ApiError::from(e).with_attempts(0))?;
        // Only a merged `anthropic-beta` header changes the body here.
        let bytes = if betas_merged {
            Bytes::from(
                serde_json::to_vec(&body)
                    .map_err(|e| ApiError::from(ProxyError::Internal(e.to_string())))?,
            )
        } else {
            raw
        };
        Ok((routed.profile, bytes, stream))
    }

    /// Every name `model` accepts, aliases first, then profiles, each once.
    fn model_list(&self) -> Vec<AnthropicModel> {
        let routing = &self.pipeline.routing;
        let entry = |id: &str, display_name: String| AnthropicModel {
            kind: "model".into(),
            id: id.to_string(),
            display_name,
            created_at: self.started.clone(),
        };
        let mut list: Vec<AnthropicModel> = routing
            .aliases
            .iter()
            .map(|(alias, target)| entry(alias, format!("{alias} (→ {target})")))
            .collect();
        for p in self.pipeline.profiles.iter() {
            if !routing.aliases.contains_key(&p.name) {
                list.push(entry(
                    &p.name,
                    format!("{} ({} in {})", p.name, p.model_id, p.region),
                ));
            }
        }
        list
    }
}

#[OpenApi]
impl AnthropicApi {
    /// Create a message (Anthropic API)
    ///
    /// Anthropic's `POST /v1/messages`. `model` is a profile name, an alias (`GET /v1/models`)
    /// or a Bedrock model id. With `"stream": true` the answer is Anthropic's SSE stream.
    /// Errors: `{"type":"error","error":{"type":"rate_limit_error",…}}`.
    #[oai(path = "/v1/messages", method = "post", tag = "ApiTags::Anthropic")]
    async fn messages(
        &self,
        req: &Request,
        _key: ClientKey,
        body: JsonBody,
    ) -> poem::Result<RawResponse<MessagesDoc>> {
        let (profile, body, stream) = self.route(req, body.0)?;
        let request = ClientRequest {
            headers: req.headers(),
            body,
            mode: BodyMode::Transform,
            extra: &[],
        };
        let response = if stream {
            let start = self.pipeline.invoke_stream_on(profile, &request).await?;
            let response = Response::builder()
                .content_type("text/event-stream")
                .header("cache-control", "no-cache")
                .header("x-accel-buffering", "no")
                .body(Body::from_bytes_stream(super::sse::body(
                    start.items,
                    self.keepalive,
                    Flavor::Anthropic,
                )));
            with_headers(response, start.headers, &start.profile.name, start.attempts)
        } else {
            let answer = self.pipeline.invoke_on(profile, &request).await?;
            let out = answer.output;
            let response = Response::builder()
                .status(StatusCode::from_u16(out.status).unwrap_or(StatusCode::OK))
                .content_type("application/json")
                .body(Body::from_bytes(out.body));
            with_headers(response, out.headers, &answer.profile.name, answer.attempts)
        };
        Ok(RawResponse::new(response))
    }

    /// Count tokens (Anthropic API)
    ///
    /// Anthropic's `POST /v1/messages/count_tokens`, answered by Bedrock's CountTokens for the
    /// foundation model behind `model`.
    #[oai(
        path = "/v1/messages/count_tokens",
        method = "post",
        tag = "ApiTags::Anthropic"
    )]
    async fn count_tokens(
        &self,
        req: &Request,
        _key: ClientKey,
        body: JsonBody,
    ) -> poem::Result<RawResponse<JsonOf<TokenCount>>> {
        let (profile, body, _) = self.route(req, body.0)?;
        let profile = for_count_tokens(&profile);
        let headers = req.headers();
        let legacy = AtomicBool::new(false);
        let answered = self
            .pipeline
            .call_invoke(profile, Operation::CountTokens, &[], |p| {
                let invoke = prepare_body(p, EndpointKind::Invoke, headers, &body, &legacy)?;
                let wrapped = serde_json::json!({
                    "input": { "invokeModel": {
                        "body": base64::engine::general_purpose::STANDARD.encode(&invoke)
                    } }
                });
                Ok(Bytes::from(wrapped.to_string()))
            })
            .await?;
        let in_profile = |e: ProxyError| {
            e.in_profile(&answered.profile.name)
                .with_attempts(answered.attempts)
        };
        let counted: Value = serde_json::from_slice(&answered.value.body).map_err(|e| {
            in_profile(ProxyError::Internal(format!(
                "CountTokens answered something that is not JSON: {e}"
            )))
        })?;
        let input_tokens = counted
            .get("inputTokens")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                in_profile(ProxyError::Internal(
                    "CountTokens answered without inputTokens".into(),
                ))
            })?;
        let response = Response::builder()
            .content_type("application/json")
            .body(TokenCount { input_tokens }.to_json_string());
        Ok(RawResponse::new(with_headers(
            response,
            answered.value.headers,
            &answered.profile.name,
            answered.attempts,
        )))
    }

    /// List models (Anthropic API)
    ///
    /// Anthropic's `GET /v1/models`: every alias and profile, usable as `model`.
    #[oai(path = "/v1/models", method = "get", tag = "ApiTags::Anthropic")]
    async fn models(
        &self,
        _key: ClientKey,
        /// Items per page (1–1000, default 20).
        limit: Query<Option<u32>>,
        /// Return the items after this id.
        after_id: Query<Option<String>>,
        /// Return the items before this id.
        before_id: Query<Option<String>>,
    ) -> poem::Result<RawResponse<JsonOf<AnthropicModelList>>> {
        let all = self.model_list();
        let limit = match limit.0 {
            None => 20,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => return Err(invalid(format!("limit: must be 1–1000, got {n}"))),
        };
        let position = |id: &str| all.iter().position(|m| m.id == id);
        let (start, end) = match (&after_id.0, &before_id.0) {
            (Some(after), _) => {
                let i = position(after).map(|i| i + 1).unwrap_or(all.len());
                (i, (i + limit).min(all.len()))
            }
            (None, Some(before)) => {
                let i = position(before).unwrap_or(0);
                (i.saturating_sub(limit), i)
            }
            (None, None) => (0, limit.min(all.len())),
        };
        let page = all[start..end].to_vec();
        let list = AnthropicModelList {
            has_more: if before_id.0.is_some() && after_id.0.is_none() {
                start > 0
            } else {
                end < all.len()
            },
            first_id: page.first().map(|m| m.id.clone()),
            last_id: page.last().map(|m| m.id.clone()),
            data: page,
        };
        Ok(RawResponse::new(
            Response::builder()
                .content_type("application/json")
                .body(list.to_json_string()),
        ))
    }

    /// Get a model (Anthropic API)
    #[oai(
        path = "/v1/models/:model_id",
        method = "get",
        tag = "ApiTags::Anthropic"
    )]
    async fn model(
        &self,
        _key: ClientKey,
        model_id: Path<String>,
    ) -> poem::Result<RawResponse<JsonOf<AnthropicModel>>> {
        let found = self
            .model_list()
            .into_iter()
            .find(|m| m.id == model_id.0)
            .ok_or_else(|| {
                poem::Error::from(ApiError::from(ProxyError::UnknownModel {
                    name: model_id.0.clone(),
                    valid: self.model_list().into_iter().map(|m| m.id).collect(),
                }))
            })?;
        Ok(RawResponse::new(
            Response::builder()
                .content_type("application/json")
                .body(found.to_json_string()),
        ))
    }
}
