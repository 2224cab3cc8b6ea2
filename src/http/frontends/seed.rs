//! `POST /invoke` (one JSON answer from the profile's model) and `POST /invoke_stream` (its
//! events as Server-Sent Events).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

use crate::bedrock::Operation;
use crate::core::{Call, CallBody, Delivery, Pipeline};
use crate::http::guard::ClientKey;
use crate::http::payload::{InvokeJson, InvokeSse, JsonBody, RawResponse};
use crate::http::render::{self, Dialect};
use crate::http::ApiTags;

pub struct InvokeApi {
    pub pipeline: Arc<Pipeline>,
    pub keepalive: std::time::Duration,
}

impl InvokeApi {
    /// The body to the profile `?profile=` names (or the default), transformed.
    async fn call(
        &self,
        req: &Request,
        profile: Option<&str>,
        body: bytes::Bytes,
        op: Operation,
    ) -> poem::Result<poem::Response> {
        let delivery = match op {
            Operation::InvokeStream => Delivery::Events,
            _ => Delivery::Whole,
        };
        let answer = self
            .pipeline
            .execute(Call {
                profile: self.pipeline.profile(profile)?,
                op,
                body: CallBody::Raw(body),
                delivery,
                headers: req.headers(),
                extra: Vec::new(),
            })
            .await?;
        Ok(render::answer(answer, Dialect::Proxy, self.keepalive))
    }
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
        let response = self
            .call(req, profile.0.as_deref(), body.0, Operation::Invoke)
            .await?;
        Ok(RawResponse::new(response))
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
        let response = self
            .call(req, profile.0.as_deref(), body.0, Operation::InvokeStream)
            .await?;
        Ok(RawResponse::new(response))
    }
}
