//! Request and response payload types that keep bodies as bytes.
//!
//! `JsonBody` takes the request body without deserializing it into a fixed Rust type (the
//! Messages API is open-ended and the proxy passes unknown fields through), while still
//! documenting the schema and an example in OpenAPI. `RawResponse` sends Bedrock's bytes back
//! untouched, with the documented success and error schemas.

use bytes::Bytes;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::Object;

use super::docs::{InvokeResponseDoc, StreamEventDoc};
use super::docs_bodies::{Documented, InvokeBody};
use super::render::{Dialect, ErrorBody, ATTEMPTS_HEADER};

/// A JSON request body, kept as bytes, documented in OpenAPI as `D`.
pub struct JsonBody<D = Documented<InvokeBody>>(pub Bytes, std::marker::PhantomData<D>);

impl<D: Type> Payload for JsonBody<D> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
    }

    fn schema_ref() -> MetaSchemaRef {
        D::schema_ref()
    }

    fn register(registry: &mut Registry) {
        D::register(registry);
    }
}

impl<D: Type> ParsePayload for JsonBody<D> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_req: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(JsonBody(
            body.take()?.into_bytes().await?,
            std::marker::PhantomData,
        ))
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<D>, D: Type);

/// Which success body a `RawResponse` documents.
pub trait SuccessDoc {
    const CONTENT_TYPE: &'static str;
    /// Other content types the success may have (documented as text, e.g. an event stream).
    const ALSO: &'static [&'static str] = &[];
    const DESCRIPTION: &'static str;
    /// The error shape of the route.
    const DIALECT: Dialect = Dialect::Proxy;
    fn schema_ref() -> MetaSchemaRef;
    /// The schema of the `ALSO` content types (text unless said otherwise).
    fn also_schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }
    fn register(registry: &mut Registry);
}

/// A response built by hand (Bedrock's bytes or an SSE stream), documented as `D`.
pub struct RawResponse<D>(pub Response, std::marker::PhantomData<D>);

impl<D> RawResponse<D> {
    pub fn new(response: Response) -> Self {
        RawResponse(response, std::marker::PhantomData)
    }
}

impl<D: Send> IntoResponse for RawResponse<D> {
    fn into_response(self) -> Response {
        self.0
    }
}

fn header_meta(name: &str, description: &str, schema: MetaSchemaRef) -> MetaHeader {
    MetaHeader {
        name: name.to_string(),
        description: Some(description.to_string()),
        required: false,
        deprecated: false,
        schema,
    }
}

fn attempts_header() -> MetaHeader {
    header_meta(
        ATTEMPTS_HEADER,
        "Calls made to Bedrock for this request, retries and fallback profiles included (0: refused before calling Bedrock).",
        u32::schema_ref(),
    )
}

/// The error body of a dialect (AWS's `{"message"}`, Anthropic's `{"type":"error",…}`).
#[derive(Object)]
#[oai(rename = "AwsError")]
pub struct AwsErrorDoc {
    /// What went wrong; the exception name is in the `x-amzn-ErrorType` header.
    pub message: String,
}

/// Anthropic's error detail.
#[derive(Object)]
#[oai(rename = "AnthropicErrorDetail")]
pub struct AnthropicErrorDetailDoc {
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `request_too_large`, `rate_limit_error`, `api_error` or `overloaded_error`.
    #[oai(rename = "type")]
    pub kind: String,
    pub message: String,
}

/// Anthropic's error body.
#[derive(Object)]
#[oai(rename = "AnthropicError")]
pub struct AnthropicErrorDoc {
    /// Always `error`.
    #[oai(rename = "type")]
    pub kind: String,
    pub error: AnthropicErrorDetailDoc,
    pub request_id: String,
}

/// OpenAI's error detail.
#[derive(Object)]
#[oai(rename = "OpenAiErrorDetail")]
pub struct OpenAiErrorDetailDoc {
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `not_found_error`, `rate_limit_error` or `server_error`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The request parameter at fault (`model`, `messages[0].content[1].image_url`, …).
    #[oai(nullable)]
    pub param: Option<String>,
    /// `model_not_found`, `unsupported_parameter`, `invalid_value`, `invalid_api_key`, …
    #[oai(nullable)]
    pub code: Option<String>,
}

/// OpenAI's error body.
#[derive(Object)]
#[oai(rename = "OpenAiError")]
pub struct OpenAiErrorDoc {
    pub error: OpenAiErrorDetailDoc,
}

fn error_schema(dialect: Dialect) -> MetaSchemaRef {
    match dialect {
        Dialect::Proxy => ErrorBody::schema_ref(),
        Dialect::Aws => AwsErrorDoc::schema_ref(),
        Dialect::Anthropic => AnthropicErrorDoc::schema_ref(),
        Dialect::OpenAi => OpenAiErrorDoc::schema_ref(),
    }
}

pub(crate) fn error_response_meta(status: u16, description: &'static str) -> MetaResponse {
    dialect_error_meta(status, description, Dialect::Proxy)
}

fn dialect_error_meta(status: u16, description: &'static str, dialect: Dialect) -> MetaResponse {
    let headers = match status {
        401 => vec![header_meta(
            "www-authenticate",
            "`Bearer`: send a client API key.",
            String::schema_ref(),
        )],
        503 => vec![
            header_meta(
                "retry-after",
                "Seconds to wait before trying again (when the proxy is at its concurrency limit).",
                u64::schema_ref(),
            ),
            attempts_header(),
        ],
        413 => vec![],
        _ => vec![attempts_header()],
    };
    MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json",
            schema: error_schema(dialect),
        }],
        headers,
    }
}

/// The answer of any route when the proxy requires client API keys and none or a wrong one
/// was sent.
pub(crate) fn unauthorized_meta() -> MetaResponse {
    error_response_meta(
        401,
        "No client API key, or a wrong one (only when the proxy is configured with keys).",
    )
}

impl<D: SuccessDoc + Send> poem_openapi::ApiResponse for RawResponse<D> {
    fn meta() -> MetaResponses {
        let err = |status, description| dialect_error_meta(status, description, D::DIALECT);
        let mut content = vec![MetaMediaType {
            content_type: D::CONTENT_TYPE,
            schema: D::schema_ref(),
        }];
        content.extend(D::ALSO.iter().map(|ct| MetaMediaType {
            content_type: ct,
            schema: D::also_schema_ref(),
        }));
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: D::DESCRIPTION,
                    status: Some(200),
                    status_range: None,
                    content,
                    headers: vec![
                        header_meta(
                            "x-proxy-profile",
                            "The profile that answered: the requested one, or one of its fallback profiles.",
                            String::schema_ref(),
                        ),
                        attempts_header(),
                    ],
                },
                err(
                    400,
                    "The request is malformed, or Bedrock rejected it (ValidationException).",
                ),
                err(
                    401,
                    "No client API key, or a wrong one (only when the proxy is configured with keys).",
                ),
                err(403, "Bedrock denied access (AccessDeniedException)."),
                err(404, "Unknown profile, or Bedrock does not know the model."),
                err(
                    413,
                    "The request body is larger than `limits.max_body_bytes` (PayloadTooLarge).",
                ),
                err(
                    415,
                    "The body is not sent as JSON (`Content-Type: application/json`).",
                ),
                err(
                    429,
                    "Bedrock is throttling (ThrottlingException, ModelNotReadyException).",
                ),
                err(
                    500,
                    "Missing AWS credentials, Bedrock failed internally, or the proxy failed unexpectedly (InternalError).",
                ),
                err(502, "Bedrock could not be reached."),
                err(
                    503,
                    "Bedrock is unavailable (ServiceUnavailableException), or the proxy is at its limit of concurrent Bedrock calls (ProxyOverloaded, with Retry-After).",
                ),
                err(504, "Bedrock did not answer in time."),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        D::register(registry);
        ErrorBody::register(registry);
        AwsErrorDoc::register(registry);
        AnthropicErrorDoc::register(registry);
        OpenAiErrorDoc::register(registry);
    }
}

/// A documentation type that says what its body is, for the success response.
pub trait Described {
    const DESCRIPTION: &'static str;
    /// The error shape of the routes answering this type.
    const DIALECT: Dialect = Dialect::Proxy;
}

/// A JSON success body documented by the type `T`.
pub struct JsonOf<T>(std::marker::PhantomData<T>);

impl<T: Type + Described> SuccessDoc for JsonOf<T> {
    const CONTENT_TYPE: &'static str = "application/json";
    const DESCRIPTION: &'static str = T::DESCRIPTION;
    const DIALECT: Dialect = T::DIALECT;
    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }
    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// `/invoke`'s success: Bedrock's Messages response.
pub type InvokeJson = JsonOf<InvokeResponseDoc>;

impl Described for InvokeResponseDoc {
    const DESCRIPTION: &'static str = "Bedrock's answer, unchanged (Anthropic Messages response).";
}

/// The Bedrock-native routes' success: Bedrock's answer as Bedrock sent it.
pub struct NativeDoc;

impl SuccessDoc for NativeDoc {
    const CONTENT_TYPE: &'static str = "application/json";
    const DESCRIPTION: &'static str = "Bedrock's answer, unchanged: the model's JSON (InvokeModel), the Converse answer, or `{\"inputTokens\": N}` (CountTokens).";
    const DIALECT: Dialect = Dialect::Aws;
    fn schema_ref() -> MetaSchemaRef {
        serde_json::Value::schema_ref()
    }
    fn register(_registry: &mut Registry) {}
}

/// The Bedrock-native streaming routes' success: Bedrock's binary event stream.
pub struct NativeStreamDoc;

impl SuccessDoc for NativeStreamDoc {
    const CONTENT_TYPE: &'static str = "application/vnd.amazon.eventstream";
    const DESCRIPTION: &'static str = "Bedrock's binary event stream, relayed as it arrives.";
    const DIALECT: Dialect = Dialect::Aws;
    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }
    fn register(_registry: &mut Registry) {}
}

/// `/v1/messages`' success: Anthropic's Messages response, or its SSE stream.
pub struct MessagesDoc;

impl SuccessDoc for MessagesDoc {
    const CONTENT_TYPE: &'static str = "application/json";
    const ALSO: &'static [&'static str] = &["text/event-stream"];
    const DESCRIPTION: &'static str = "The Messages response, or with `\"stream\": true` Anthropic's Server-Sent Events (`message_start`, `ping`, `content_block_delta`, …, `message_stop`).";
    const DIALECT: Dialect = Dialect::Anthropic;
    fn schema_ref() -> MetaSchemaRef {
        InvokeResponseDoc::schema_ref()
    }
    fn also_schema_ref() -> MetaSchemaRef {
        StreamEventDoc::schema_ref()
    }
    fn register(registry: &mut Registry) {
        InvokeResponseDoc::register(registry);
        StreamEventDoc::register(registry);
    }
}

/// `/invoke_stream`'s success: Server-Sent Events.
pub struct InvokeSse;

impl SuccessDoc for InvokeSse {
    const CONTENT_TYPE: &'static str = "text/event-stream";
    const DESCRIPTION: &'static str = "Server-Sent Events, one per model event, e.g.\n\n```\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n```\n\nA stream that fails after it started ends with `event: error`.";
    fn schema_ref() -> MetaSchemaRef {
        StreamEventDoc::schema_ref()
    }
    fn register(registry: &mut Registry) {
        StreamEventDoc::register(registry);
    }
}

/// Any response `T`, documented with the 401 the guard answers on a route that needs a client
/// API key. Use it for operations that are not in `auth.open_paths` by default.
pub struct Guarded<T>(pub T);

impl<T: IntoResponse> IntoResponse for Guarded<T> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<T: poem_openapi::ApiResponse> poem_openapi::ApiResponse for Guarded<T> {
    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        meta.responses.push(unauthorized_meta());
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        ErrorBody::register(registry);
    }
}
