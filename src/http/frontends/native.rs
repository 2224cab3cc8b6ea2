//! Bedrock's own runtime routes, so boto3, the AWS CLI, `AnthropicBedrock` and Claude Code
//! (`ANTHROPIC_BEDROCK_BASE_URL`) work with the proxy as their endpoint:
//! `POST /model/{modelId}/invoke`, `/invoke-with-response-stream`, `/converse`,
//! `/converse-stream`, `/count-tokens`.
//!
//! `{modelId}` is a profile name, an alias, or any Bedrock id / ARN (see `core::router`). The
//! client's `Authorization`, `X-Amz-*` and hop-by-hop headers are dropped; its
//! `X-Amzn-Bedrock-*` headers go on, and the proxy signs the call with its own credentials.
//! Bedrock's status, headers and body come back unchanged: bodies are relayed as they arrive
//! (an event stream is neither decoded nor buffered), except that an InvokeModel body for a
//! profile runs through the profile's request chain, and a profile with response transformers
//! has its answers (and each streamed event, re-encoded) run through them. Errors are in AWS's
//! shape, so SDKs raise the usual exceptions.

use std::sync::Arc;

use poem::http::{HeaderName, HeaderValue};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::OpenApi;

use crate::bedrock::Operation;
use crate::core::{Call, CallBody, Delivery, Pipeline};
use crate::http::docs_bodies::{ConverseBody, CountTokensBody, Documented, NativeInvokeBody};
use crate::http::guard::ClientKey;
use crate::http::payload::{JsonBody, NativeDoc, NativeStreamDoc, RawResponse, SuccessDoc};
use crate::http::render::{self, Dialect};
use crate::http::ApiTags;

pub struct NativeApi {
    pub pipeline: Arc<Pipeline>,
}

/// The client's headers that go on to Bedrock: `X-Amzn-Bedrock-*` (guardrails, trace,
/// performance configuration, …).
pub fn bedrock_headers(headers: &http::HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-amzn-bedrock-"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

impl NativeApi {
    async fn call<D: SuccessDoc + Send>(
        &self,
        req: &Request,
        model_id: &str,
        op: Operation,
        body: bytes::Bytes,
    ) -> poem::Result<RawResponse<D>> {
        let routed = self.pipeline.route(model_id)?;
        // A profile's request chain edits Anthropic Messages bodies; Converse and CountTokens
        // bodies, and bodies for models called directly, go as they are.
        let transform = !routed.direct && matches!(op, Operation::Invoke | Operation::InvokeStream);
        let answer = self
            .pipeline
            .execute(Call {
                profile: routed.profile,
                op,
                body: if transform {
                    CallBody::Raw(body)
                } else {
                    CallBody::Verbatim(body)
                },
                delivery: Delivery::Native,
                headers: req.headers(),
                extra: bedrock_headers(req.headers()),
            })
            .await?;
        Ok(RawResponse::new(render::answer(
            answer,
            Dialect::Aws,
            std::time::Duration::ZERO,
        )))
    }
}

#[OpenApi]
impl NativeApi {
    /// InvokeModel (Bedrock's route)
    ///
    /// For boto3 `invoke_model`, `AnthropicBedrock(base_url=…)` and Claude Code
    /// (`ANTHROPIC_BEDROCK_BASE_URL`). `modelId`: a profile name (its model, region,
    /// transformers, retries), an alias, or a Bedrock model id / ARN called as it is.
    #[oai(
        path = "/model/:model_id/invoke",
        method = "post",
        tag = "ApiTags::Bedrock"
    )]
    async fn invoke(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile name, alias, or Bedrock model id / inference-profile id / ARN.
        #[oai(example = "example_model_id")]
        model_id: Path<String>,
        body: JsonBody<Documented<NativeInvokeBody>>,
    ) -> poem::Result<RawResponse<NativeDoc>> {
        self.call(req, &model_id.0, Operation::Invoke, body.0).await
    }

    /// InvokeModelWithResponseStream (Bedrock's route)
    ///
    /// Bedrock's binary event stream (`application/vnd.amazon.eventstream`), relayed as it
    /// arrives.
    #[oai(
        path = "/model/:model_id/invoke-with-response-stream",
        method = "post",
        tag = "ApiTags::Bedrock"
    )]
    async fn invoke_stream(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile name, alias, or Bedrock model id / inference-profile id / ARN.
        #[oai(example = "example_model_id")]
        model_id: Path<String>,
        body: JsonBody<Documented<NativeInvokeBody>>,
    ) -> poem::Result<RawResponse<NativeStreamDoc>> {
        self.call(req, &model_id.0, Operation::InvokeStream, body.0)
            .await
    }

    /// Converse (Bedrock's route)
    #[oai(
        path = "/model/:model_id/converse",
        method = "post",
        tag = "ApiTags::Bedrock"
    )]
    async fn converse(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile name, alias, or Bedrock model id / inference-profile id / ARN.
        #[oai(example = "example_model_id")]
        model_id: Path<String>,
        body: JsonBody<Documented<ConverseBody>>,
    ) -> poem::Result<RawResponse<NativeDoc>> {
        self.call(req, &model_id.0, Operation::Converse, body.0)
            .await
    }

    /// ConverseStream (Bedrock's route)
    #[oai(
        path = "/model/:model_id/converse-stream",
        method = "post",
        tag = "ApiTags::Bedrock"
    )]
    async fn converse_stream(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile name, alias, or Bedrock model id / inference-profile id / ARN.
        #[oai(example = "example_model_id")]
        model_id: Path<String>,
        body: JsonBody<Documented<ConverseBody>>,
    ) -> poem::Result<RawResponse<NativeStreamDoc>> {
        self.call(req, &model_id.0, Operation::ConverseStream, body.0)
            .await
    }

    /// CountTokens (Bedrock's route)
    ///
    /// Bedrock counts tokens for foundation-model ids only: a profile's cross-region id
    /// (`eu.anthropic…`) is called without its geography prefix.
    #[oai(
        path = "/model/:model_id/count-tokens",
        method = "post",
        tag = "ApiTags::Bedrock"
    )]
    async fn count_tokens(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile name, alias, or Bedrock foundation-model id.
        #[oai(example = "example_model_id")]
        model_id: Path<String>,
        body: JsonBody<Documented<CountTokensBody>>,
    ) -> poem::Result<RawResponse<NativeDoc>> {
        self.call(req, &model_id.0, Operation::CountTokens, body.0)
            .await
    }
}

/// The `modelId` Swagger UI fills in: the `us` profile (Claude through its US inference
/// profile), which every built-in configuration has.
fn example_model_id() -> String {
    "us".to_string()
}
