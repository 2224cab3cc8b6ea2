//! Where answers and errors become HTTP: each front end's dialect (its error body shape and
//! its SSE flavour, declared once per route group in `http::app`), and the one responder that
//! turns a pipeline `Answer` into a response with the `x-proxy-*` headers.

use bytes::Bytes;
use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::{Body, Response};
use poem_openapi::Object;

use super::sse;
use crate::core::{Answer, AnswerBody};
use crate::error::{exception_row, ApiError, ProxyError};

/// Response header: the profile that answered.
pub const PROFILE_HEADER: &str = "x-proxy-profile";
/// Response header: how many calls to Bedrock the proxy made for this request.
pub const ATTEMPTS_HEADER: &str = "x-proxy-attempts";

/// Which wire conventions the clients of a route group understand: the error body shape,
/// and how a stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The proxy's own: `{"error":{…}}`; SSE with keep-alive comments and Bedrock's error
    /// names.
    Proxy,
    /// AWS's REST-JSON shape, for the routes AWS SDKs and the AWS CLI call:
    /// `{"message":"…"}` with the exception name in `x-amzn-ErrorType`.
    Aws,
    /// Anthropic's: `{"type":"error","error":{"type":"rate_limit_error","message":"…"},
    /// "request_id":"…"}`; SSE with `ping` events and Anthropic error types.
    Anthropic,
    /// OpenAI's: `{"error":{"message","type","param","code"}}`; streams are `data:` lines
    /// (see `frontends::openai`).
    OpenAi,
}

/// OpenAI's error `type` for an error: the Bedrock exception table's (`crate::error`) for a
/// Bedrock exception `kind`, else by HTTP status (the SDKs choose their exception by status).
pub fn openai_error_type(kind: &str, status: u16) -> &'static str {
    if let Some(row) = exception_row(kind) {
        return row.openai;
    }
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    }
}

/// The OpenAI `param` and `code` of an error, where it has them.
fn openai_param_code(err: &poem::Error) -> (Option<String>, Option<&'static str>) {
    match err.downcast_ref::<ApiError>().map(|a| &a.error) {
        Some(ProxyError::BadParameter { param, code, .. }) => (param.clone(), *code),
        Some(ProxyError::UnknownModel { .. }) => (Some("model".into()), Some("model_not_found")),
        Some(ProxyError::Unauthorized(_)) => (None, Some("invalid_api_key")),
        _ => (None, None),
    }
}

/// Anthropic's error `type` for an error: the Bedrock exception table's for a Bedrock
/// exception `kind`, else by HTTP status.
pub fn anthropic_error_type(kind: &str, status: u16) -> &'static str {
    if let Some(row) = exception_row(kind) {
        return row.anthropic;
    }
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// The AWS exception name for an error type of the proxy's own.
fn aws_error_type(kind: &str) -> &str {
    match kind {
        "InvalidRequest" => "ValidationException",
        "UnknownProfile" | "UnknownModel" | "NotFound" => "ResourceNotFoundException",
        "Unauthorized" => "UnrecognizedClientException",
        "ProxyOverloaded" => "ServiceUnavailableException",
        other => other,
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The proxy's own error shape (also used by the OpenAPI document).
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The fields of an error answer.
#[derive(Debug, Clone, Object)]
pub struct ErrorDetail {
    /// Bedrock's exception name (`ThrottlingException`, `ValidationException`, …) or the
    /// proxy's own (`InvalidRequest`, `UnknownProfile`, `UpstreamTimeout`, …).
    #[oai(rename = "type")]
    pub kind: String,
    /// What went wrong and, for client errors, what to fix.
    pub message: String,
    /// The HTTP status, repeated for clients that only keep the body.
    pub status: u16,
    /// The profile the request was routed to, when it got that far.
    #[oai(skip_serializing_if_is_none)]
    pub profile: Option<String>,
    /// This request's id (also in the `x-request-id` response header).
    pub request_id: String,
    /// Bedrock's own request id, when Bedrock answered.
    #[oai(skip_serializing_if_is_none)]
    pub upstream_request_id: Option<String>,
    /// Valid profile names, when the profile was unknown.
    #[oai(skip_serializing_if_is_none)]
    pub valid_profiles: Option<Vec<String>>,
}

impl ErrorDetail {
    /// Build the detail for any error the server produced.
    pub fn from_poem(err: &poem::Error, request_id: &str) -> ErrorDetail {
        if let Some(api) = err.downcast_ref::<ApiError>() {
            let e = &api.error;
            return ErrorDetail {
                kind: e.error_type().to_string(),
                message: e.to_string(),
                status: e.status(),
                profile: api.profile.clone(),
                request_id: request_id.to_string(),
                upstream_request_id: e.upstream_request_id().map(str::to_string),
                valid_profiles: match e {
                    ProxyError::UnknownProfile { valid, .. } => Some(valid.clone()),
                    _ => None,
                },
            };
        }
        // Errors poem or poem-openapi raised before our handler ran.
        let status = err.status();
        let kind = match status {
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
            StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
            s if s.is_client_error() => "InvalidRequest",
            _ => "InternalError",
        };
        let message = match status {
            StatusCode::NOT_FOUND => "no such route; see /docs for the API".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                format!("{err}; send the body as JSON with 'Content-Type: application/json'")
            }
            _ => err.to_string(),
        };
        ErrorDetail {
            kind: kind.to_string(),
            message,
            status: status.as_u16(),
            profile: None,
            request_id: request_id.to_string(),
            upstream_request_id: None,
            valid_profiles: None,
        }
    }
}

impl Dialect {
    /// Any error as this dialect's error response. The only place errors become HTTP.
    pub fn error_response(self, err: &poem::Error, request_id: &str) -> Response {
        let detail = ErrorDetail::from_poem(err, request_id);
        let status =
            StatusCode::from_u16(detail.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Response::builder()
            .status(status)
            .content_type("application/json");
        if let Some(api) = err.downcast_ref::<ApiError>() {
            for (name, value) in api.error.headers() {
                response = response.header(name, value);
            }
            if let Some(n) = api.attempts {
                response = response.header(ATTEMPTS_HEADER, n.to_string());
            }
        }
        let body = match self {
            Dialect::Proxy => {
                poem_openapi::types::ToJSON::to_json_string(&ErrorBody { error: detail })
            }
            Dialect::Aws => {
                response = response
                    .header("x-amzn-ErrorType", aws_error_type(&detail.kind))
                    .header("x-amzn-RequestId", request_id);
                serde_json::json!({ "message": detail.message }).to_string()
            }
            Dialect::Anthropic => {
                response = response.header("request-id", request_id);
                serde_json::json!({
                    "type": "error",
                    "error": {
                        "type": anthropic_error_type(&detail.kind, detail.status),
                        "message": detail.message,
                    },
                    "request_id": request_id,
                })
                .to_string()
            }
            Dialect::OpenAi => {
                let (param, code) = openai_param_code(err);
                serde_json::json!({
                    "error": {
                        "message": detail.message,
                        "type": openai_error_type(&detail.kind, detail.status),
                        "param": param,
                        "code": code,
                    }
                })
                .to_string()
            }
        };
        response.body(Body::from_string(body))
    }
}

/// Add Bedrock's `x-amzn-*` headers, `x-proxy-profile` (the profile that answered) and
/// `x-proxy-attempts` (calls made to Bedrock) to a response.
pub fn with_headers(
    mut response: Response,
    upstream: Vec<(HeaderName, HeaderValue)>,
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

/// A JSON answer built by the proxy itself.
pub fn json(body: impl Into<Body>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(body.into())
}

/// The one responder: a pipeline answer as an HTTP response in `dialect`. Whole bodies keep
/// Bedrock's status and content type (JSON when it sent none); events become SSE in the
/// dialect's flavour; raw bodies are relayed as they arrive.
pub fn answer(answer: Answer, dialect: Dialect, keepalive: std::time::Duration) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = match answer.body {
        AnswerBody::Whole(bytes) => Response::builder()
            .status(status)
            .body(Body::from_bytes(bytes)),
        AnswerBody::Raw(stream) => Response::builder()
            .status(status)
            .body(Body::from_bytes_stream(stream)),
        AnswerBody::Events(items) => Response::builder()
            .content_type("text/event-stream")
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
            .body(Body::from_bytes_stream(sse::body(
                items, keepalive, dialect,
            ))),
    };
    if let Some(ct) = answer.content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, ct);
    } else if !response.headers().contains_key(http::header::CONTENT_TYPE) {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    with_headers(
        response,
        answer.headers,
        &answer.profile.name,
        answer.attempts,
    )
}

/// A whole body the proxy rewrote (e.g. a count), with the answer's headers.
pub fn rewritten(answer: &Answer, body: Bytes) -> Response {
    with_headers(
        json(body),
        answer.headers.clone(),
        &answer.profile.name,
        answer.attempts,
    )
}
