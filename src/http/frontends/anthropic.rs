//! The Anthropic Messages API, so the `anthropic` SDKs (`Anthropic(base_url=…)`) and Claude
//! Code (`ANTHROPIC_BASE_URL`) work through the proxy: `POST /v1/messages` (JSON, or with
//! `"stream": true` Anthropic's SSE, `ping` events included), `POST /v1/messages/count_tokens`
//! (Bedrock's CountTokens), `GET /v1/models` and `GET /v1/models/{id}`.
//!
//! The body's `model` picks the route (a profile name, an alias, or a Bedrock id; see
//! `routing`); the `anthropic-beta` header joins the body's `anthropic_beta` (and so passes
//! any `beta_filter`). Profiles, retries, fallbacks and transformer chains are the same as on
//! `/invoke`: these handlers only translate. Errors are in Anthropic's shape and types.

use std::sync::Arc;
use std::time::Duration;

use poem::Request;
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use crate::bedrock::Operation;
use crate::core::prepare::parse_body;
use crate::core::{Answer, AnswerBody, Call, CallBody, Delivery, Pipeline};
use crate::error::{ApiError, ProxyError};
use crate::http::docs_bodies::{Documented, MessagesBody};
use crate::http::guard::ClientKey;
use crate::http::payload::{Described, JsonBody, JsonOf, MessagesDoc, RawResponse};
use crate::http::render::{self, Dialect};
use crate::http::ApiTags;

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

/// Merge `betas` into the body's `anthropic_beta` list, each once.
fn merge_betas(body: &mut Map<String, Value>, betas: Vec<String>) -> poem::Result<()> {
    if betas.is_empty() {
        return Ok(());
    }
    let list = body
        .entry("anthropic_beta")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = list else {
        return Err(invalid("anthropic_beta: must be an array of strings"));
    };
    for beta in betas {
        if !items.iter().any(|i| i.as_str() == Some(&beta)) {
            items.push(Value::String(beta));
        }
    }
    Ok(())
}

impl AnthropicApi {
    /// Parse the body once, route its `model`, merge `anthropic-beta` into `anthropic_beta`:
    /// the call to execute (with `op`, or its stream when the body asks for one).
    fn call<'r>(&self, req: &'r Request, raw: &[u8], op: Operation) -> poem::Result<Call<'r>> {
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
        merge_betas(&mut body, header_betas(req))?;
        let routed = self.pipeline.route(&model)?;
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
        let call = self.call(req, &body.0, Operation::Invoke)?;
        let answer = self.pipeline.execute(call).await?;
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
        let call = self.call(req, &body.0, Operation::CountTokens)?;
        let answer = self.pipeline.execute(call).await?;
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
