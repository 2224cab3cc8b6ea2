//! `POST /invoke`: one JSON answer from the profile's model.

use std::sync::Arc;

use poem::http::HeaderValue;
use poem::{Body, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::OpenApi;

use super::middleware::PROFILE_HEADER;
use super::payload::{InvokeJson, JsonBody, RawResponse};
use super::ApiTags;
use crate::pipeline::Pipeline;

pub struct InvokeApi {
    pub pipeline: Arc<Pipeline>,
}

#[OpenApi]
impl InvokeApi {
    /// Invoke a model
    ///
    /// Sends an Anthropic Messages request (or the legacy `{prompt, max_tokens_to_sample}`
    /// form, converted) to the profile's model on Bedrock and returns Bedrock's JSON answer.
    /// `anthropic_version` is added when absent; `model` and `stream` are removed.
    #[oai(path = "/invoke", method = "post", tag = "ApiTags::Invoke")]
    async fn invoke(
        &self,
        req: &Request,
        /// Profile to use (`apac`, `us`, `eu`, `global`, or one you configured); default when absent.
        profile: Query<Option<String>>,
        body: JsonBody,
    ) -> poem::Result<RawResponse<InvokeJson>> {
        let (profile, out) = self
            .pipeline
            .invoke(profile.0.as_deref(), req.headers(), &body.0)
            .await?;
        let mut response = Response::builder()
            .status(poem::http::StatusCode::from_u16(out.status).unwrap_or_default())
            .content_type(
                out.content_type
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json"),
            )
            .body(Body::from_bytes(out.body));
        let headers = response.headers_mut();
        for (name, value) in out.headers {
            headers.insert(name, value);
        }
        if let Ok(v) = HeaderValue::from_str(&profile.name) {
            headers.insert(PROFILE_HEADER, v);
        }
        Ok(RawResponse::new(response))
    }
}
