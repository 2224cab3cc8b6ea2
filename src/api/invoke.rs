//! `POST /invoke`: one JSON answer from the profile's model.

use std::sync::Arc;

use poem::http::HeaderValue;
use poem::{Body, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

use super::guard::ClientKey;
use super::middleware::PROFILE_HEADER;
use super::payload::{InvokeJson, InvokeSse, JsonBody, RawResponse};
use super::ApiTags;
use crate::error::ATTEMPTS_HEADER;
use crate::pipeline::Pipeline;

pub struct InvokeApi {
    pub pipeline: Arc<Pipeline>,
    pub keepalive: std::time::Duration,
}

/// Add Bedrock's `x-amzn-*` headers, `x-proxy-profile` (the profile that answered) and
/// `x-proxy-attempts` (calls made to Bedrock) to a response.
pub(crate) fn with_headers(
    mut response: Response,
    upstream: Vec<(poem::http::HeaderName, HeaderValue)>,
    profile: &str,
    attempts: u32,
) -> Response {
    let headers = response.headers_mut();
    headers.extend(upstream);
    if let Ok(v) = HeaderValue::from_str(profile) {
        headers.insert(PROFILE_HEADER, v);
    }
    headers.insert(ATTEMPTS_HEADER, HeaderValue::from(attempts));
    response
}

#[OpenApi]
impl InvokeApi {
    /// Invoke a model
    ///
    /// Sends an Anthropic Messages request (or the legacy `{prompt, max_tokens_to_sample}`
    /// form, converted) to the profile's model on Bedrock and returns Bedrock's JSON answer.
    /// `anthropic_version` is added when absent; `model` and `stream` are removed. The
    /// profile's transformers (see `/profiles`) may edit the request and the answer; a legacy
    /// request with the header `x-legacy-completion: true` gets a legacy
    /// `{completion, stop_reason}` answer where the profile runs `legacy_completion`.
    #[oai(path = "/invoke", method = "post", tag = "ApiTags::Invoke")]
    async fn invoke(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile to use (`apac`, `us`, `eu`, `global`, or one you configured); default when absent.
        profile: Query<Option<String>>,
        body: JsonBody,
    ) -> poem::Result<RawResponse<InvokeJson>> {
        let answer = self
            .pipeline
            .invoke(profile.0.as_deref(), req.headers(), body.0)
            .await?;
        let out = answer.output;
        let response = Response::builder()
            .status(poem::http::StatusCode::from_u16(out.status).unwrap_or_default())
            .content_type(
                out.content_type
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json"),
            )
            .body(Body::from_bytes(out.body));
        Ok(RawResponse::new(with_headers(
            response,
            out.headers,
            &answer.profile.name,
            answer.attempts,
        )))
    }

    /// Invoke a model, streaming
    ///
    /// Takes the same bodies as `/invoke` and answers Server-Sent Events in Anthropic's
    /// streaming format, each event flushed as soon as Bedrock sends it:
    /// `event: message_start`, `content_block_start`, `content_block_delta`…,
    /// `content_block_stop`, `message_delta`, `message_stop` (with
    /// `amazon-bedrock-invocationMetrics`). An error before the first event is an HTTP error;
    /// an error after it is a final `event: error` with
    /// `{"type":"error","error":{"type":…,"message":…}}`. Try it with `curl -N`. With
    /// `legacy_completion` (see `/invoke`), events are legacy `completion` events instead.
    #[oai(path = "/invoke_stream", method = "post", tag = "ApiTags::Invoke")]
    async fn invoke_stream(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile to use (`apac`, `us`, `eu`, `global`, or one you configured); default when absent.
        profile: Query<Option<String>>,
        body: JsonBody,
    ) -> poem::Result<RawResponse<InvokeSse>> {
        let start = self
            .pipeline
            .invoke_stream(profile.0.as_deref(), req.headers(), body.0)
            .await?;
        let response = Response::builder()
            .content_type("text/event-stream")
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
            .body(Body::from_bytes_stream(super::sse::body(
                start.items,
                self.keepalive,
                super::sse::Flavor::Proxy,
            )));
        Ok(RawResponse::new(with_headers(
            response,
            start.headers,
            &start.profile.name,
            start.attempts,
        )))
    }
}
