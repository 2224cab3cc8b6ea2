//! The Anthropic Messages API, so the `anthropic` SDKs (`Anthropic(base_url=…)`) and Claude
//! Code (`ANTHROPIC_BASE_URL`) work through the proxy: `POST /v1/messages` (JSON, or with
//! `"stream": true` Anthropic's SSE, `ping` events included), `POST /v1/messages/count_tokens`
//! (Bedrock's CountTokens), `GET /v1/models` and `GET /v1/models/{id}`.
//!
//! The body's `model` picks the route (a profile name, an alias, an Anthropic API name the
//! catalog resolves, or a Bedrock id; see `core::router`, `core::names`); the body is made one
//! Bedrock takes by `transform::anthropic_api` (betas from the `anthropic-beta` header and
//! the body, allowlisted and renamed; beta-gated and refused fields dropped; `system` turns
//! folded), and a refused beta (`invalid beta flag`) is retried once without betas. Profiles, retries, fallbacks and transformer chains are the same as on
//! `/invoke`: these handlers only translate. Errors are in Anthropic's shape and types.

use std::sync::Arc;
use std::time::Duration;

use poem::Request;
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use crate::bedrock::Operation;
use crate::core::prepare::parse_body;
use crate::core::{Answer, AnswerBody, Call, CallBody, Delivery, Pipeline};
use crate::error::{ApiError, ProxyError};
use crate::http::docs_bodies::{Documented, MessagesBody};
use crate::http::guard::ClientKey;
use crate::http::payload::{Described, JsonBody, JsonOf, MessagesDoc, RawResponse};
use crate::http::render::{self, Dialect};
use crate::http::ApiTags;
use crate::transform::anthropic_api;

pub struct AnthropicApi {
    pub pipeline: Arc<Pipeline>,
    pub keepalive: Duration,
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
    ApiError::refused(ProxyError::InvalidRequest(message.into())).into()
}

/// The client's `anthropic-beta` headers (comma-separated, possibly repeated), in order.
fn header_betas(req: &Request) -> Vec<String> {
    req.headers()
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .collect()
}

/// Bedrock's answer to a beta it does not take for the model.
fn refused_beta(error: &ApiError) -> bool {
    matches!(&error.error, ProxyError::Upstream { status: 400, message, .. }
        if message.to_ascii_lowercase().contains("invalid beta flag"))
}

impl AnthropicApi {
    /// Parse the body once, route its `model` (catalog names included), make the body one
    /// Bedrock takes (`transform::anthropic_api`: betas, gated and refused fields, system
    /// turns): the call to execute (with `op`, or its stream when the body asks for one).
    async fn call<'r>(
        &self,
        req: &'r Request,
        raw: &[u8],
        op: Operation,
    ) -> poem::Result<Call<'r>> {
        let mut body = parse_body(raw).map_err(ApiError::refused)?;
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
        let allow = &self.pipeline.routing.anthropic_betas;
        anthropic_api::prepare(&mut body, header_betas(req), allow).map_err(invalid)?;
        let routed = self.pipeline.resolve(&model, None).await?;
        if self.pipeline.names.betas_refused(&routed.profile.model_id) {
            anthropic_api::without_betas(&mut body);
        }
        let (op, delivery) = match op {
            Operation::Invoke if stream => (Operation::InvokeStream, Delivery::Events),
            op => (op, Delivery::Whole),
        };
        Ok(Call {
            profile: routed.profile,
            op,
            body: CallBody::Parsed(body),
            delivery,
            headers: req.headers(),
            extra: Vec::new(),
        })
    }

    /// Execute `call`; when Bedrock refuses a beta (`invalid beta flag`), remember that for
    /// the model and try once more without betas and beta-gated fields.
    async fn execute(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        let CallBody::Parsed(body) = &call.body else {
            return self.pipeline.execute(call).await;
        };
        if !body.contains_key("anthropic_beta") {
            return self.pipeline.execute(call).await;
        }
        let mut bare = body.clone();
        anthropic_api::without_betas(&mut bare);
        let retry = Call {
            profile: call.profile.clone(),
            op: call.op,
            body: CallBody::Parsed(bare),
            delivery: call.delivery,
            headers: call.headers,
            extra: call.extra.clone(),
        };
        match self.pipeline.execute(call).await {
            Err(e) if refused_beta(&e) => {
                self.pipeline
                    .names
                    .refuse_betas(&retry.profile.model_id)
                    .await;
                let attempts = e.attempts.unwrap_or(0);
                self.pipeline.execute(retry).await.map(|mut a| {
                    a.attempts += attempts;
                    a
                })
            }
            answered => answered,
        }
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
        body: JsonBody<Documented<MessagesBody>>,
    ) -> poem::Result<RawResponse<MessagesDoc>> {
        let call = self.call(req, &body.0, Operation::Invoke).await?;
        let answer = self.execute(call).await?;
        Ok(RawResponse::new(render::answer(
            answer,
            Dialect::Anthropic,
            self.keepalive,
        )))
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
        body: JsonBody<Documented<MessagesBody>>,
    ) -> poem::Result<RawResponse<JsonOf<TokenCount>>> {
        let call = self.call(req, &body.0, Operation::CountTokens).await?;
        let answer = self.execute(call).await?;
        let count = token_count(&answer).map_err(|e| {
            e.in_profile(&answer.profile.name)
                .with_attempts(answer.attempts)
        })?;
        Ok(RawResponse::new(render::rewritten(
            &answer,
            count.to_json_string().into(),
        )))
    }
}

/// CountTokens' `{"inputTokens": N}` as Anthropic's count.
fn token_count(answer: &Answer) -> Result<TokenCount, ProxyError> {
    let AnswerBody::Whole(body) = &answer.body else {
        return Err(ProxyError::Internal("CountTokens answered a stream".into()));
    };
    let counted: Value = serde_json::from_slice(body).map_err(|e| {
        ProxyError::Internal(format!(
            "CountTokens answered something that is not JSON: {e}"
        ))
    })?;
    let input_tokens = counted
        .get("inputTokens")
        .and_then(Value::as_u64)
        .ok_or_else(|| ProxyError::Internal("CountTokens answered without inputTokens".into()))?;
    Ok(TokenCount { input_tokens })
}
