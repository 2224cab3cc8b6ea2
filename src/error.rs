//! Every error the proxy can answer with, and the one place where an error becomes HTTP.
//!
//! `ProxyError` is what the pipeline, the Bedrock client and the transformers return.
//! `ApiError` adds the profile the request was routed to. `error_response` turns any
//! `poem::Error` (ours, poem-openapi's parse errors, routing 404s) into the single JSON shape:
//!
//! ```json
//! {"error":{"type":"ThrottlingException","message":"…","status":429,"profile":"eu","request_id":"…"}}
//! ```

use poem::http::StatusCode;
use poem::{Body, Response};
use poem_openapi::Object;

/// What went wrong, without any HTTP detail except the status each kind maps to.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The client's request cannot be sent as it is (bad JSON, wrong field types, …).
    #[error("{0}")]
    InvalidRequest(String),

    /// `?profile=` names a profile that is not configured.
    #[error("unknown profile '{name}'; valid profiles: {}", valid.join(", "))]
    UnknownProfile { name: String, valid: Vec<String> },

    /// A model named by a client is no profile, alias or Bedrock id.
    #[error("unknown model '{name}'; use a profile name, an alias ({}) or a Bedrock model id", valid.join(", "))]
    UnknownModel { name: String, valid: Vec<String> },

    /// No AWS credentials could be found by the credential chain.
    #[error("no AWS credentials available: {detail}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) in the environment or .env, or AWS_PROFILE with ~/.aws/credentials or ~/.aws/config (SSO), or run with a role (container, instance, web identity)")]
    Credentials { detail: String },

    /// Bedrock answered with an error; its status, type and message are kept.
    #[error("{message}")]
    Upstream {
        status: u16,
        error_type: String,
        message: String,
        upstream_request_id: Option<String>,
    },

    /// Bedrock could not be reached (DNS, refused connection, TLS, connection cut).
    #[error("could not reach Bedrock: {0}")]
    Unreachable(String),

    /// Bedrock did not answer in time.
    #[error("Bedrock did not answer in time: {0}")]
    Timeout(String),

    /// A transformer refused the request (400) or failed on the response (502).
    #[error("transformer '{name}' failed: {message}")]
    Transformer {
        name: String,
        message: String,
        on_response: bool,
    },

    /// A bug or an impossible state: never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),

    /// The request body is larger than `limits.max_body_bytes`.
    #[error("request body is larger than the limit of {limit} bytes (limits.max_body_bytes)")]
    PayloadTooLarge { limit: u64 },

    /// No client API key, or a wrong one.
    #[error("{0}")]
    Unauthorized(String),

    /// Every upstream slot stayed busy for the whole queue timeout.
    #[error("the proxy is at its limit of {limit} concurrent Bedrock calls and none became free within {waited:?}; retry after {retry_after_secs} s")]
    Overloaded {
        limit: usize,
        waited: std::time::Duration,
        retry_after_secs: u64,
    },
}

impl ProxyError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::UnknownProfile { .. } | ProxyError::UnknownModel { .. } => {
                StatusCode::NOT_FOUND
            }
            ProxyError::Credentials { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::Upstream { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ProxyError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Transformer { on_response, .. } => {
                if *on_response {
                    StatusCode::BAD_GATEWAY
                } else {
                    StatusCode::BAD_REQUEST
                }
            }
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ProxyError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `type` field of the JSON error: Bedrock's exception name, or the proxy's own.
    pub fn error_type(&self) -> &str {
        match self {
            ProxyError::InvalidRequest(_) => "InvalidRequest",
            ProxyError::UnknownProfile { .. } => "UnknownProfile",
            ProxyError::UnknownModel { .. } => "UnknownModel",
            ProxyError::Credentials { .. } => "CredentialsUnavailable",
            ProxyError::Upstream { error_type, .. } => error_type,
            ProxyError::Unreachable(_) => "UpstreamUnreachable",
            ProxyError::Timeout(_) => "UpstreamTimeout",
            ProxyError::Transformer { .. } => "TransformerError",
            ProxyError::Internal(_) => "InternalError",
            ProxyError::PayloadTooLarge { .. } => "PayloadTooLarge",
            ProxyError::Unauthorized(_) => "Unauthorized",
            ProxyError::Overloaded { .. } => "ProxyOverloaded",
        }
    }

    /// Headers that belong to this error's answer: `WWW-Authenticate` on 401, `Retry-After`
    /// when the proxy is overloaded.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ProxyError::Unauthorized(_) => vec![("www-authenticate", "Bearer".to_string())],
            ProxyError::Overloaded {
                retry_after_secs, ..
            } => vec![("retry-after", retry_after_secs.to_string())],
            _ => Vec::new(),
        }
    }

    /// Attach the profile the request was routed to.
    pub fn in_profile(self, profile: &str) -> ApiError {
        ApiError {
            error: self,
            profile: Some(profile.to_string()),
            attempts: None,
        }
    }
}

/// A `ProxyError` on its way to the client, with the profile it happened in.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ApiError {
    pub error: ProxyError,
    pub profile: Option<String>,
    /// Calls made to Bedrock for this request (the `x-proxy-attempts` header), when the
    /// request got as far as the retry loop.
    pub attempts: Option<u32>,
}

impl ApiError {
    pub fn with_attempts(mut self, attempts: u32) -> ApiError {
        self.attempts = Some(attempts);
        self
    }
}

impl From<ProxyError> for ApiError {
    fn from(error: ProxyError) -> Self {
        ApiError {
            error,
            profile: None,
            attempts: None,
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.error.status()
    }
}

/// The one JSON error shape (also used by the OpenAPI document).
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
                status: e.status().as_u16(),
                profile: api.profile.clone(),
                request_id: request_id.to_string(),
                upstream_request_id: match e {
                    ProxyError::Upstream {
                        upstream_request_id,
                        ..
                    } => upstream_request_id.clone(),
                    _ => None,
                },
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

/// Which error format the clients of a route understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The proxy's own shape, `{"error":{…}}`.
    Proxy,
    /// AWS's REST-JSON shape, for the AWS-shaped routes that AWS SDKs and the AWS CLI call:
    /// `{"message":"…"}` with the exception name in `x-amzn-ErrorType`.
    Aws,
    /// Anthropic's shape, for `/v1/…`:
    /// `{"type":"error","error":{"type":"rate_limit_error","message":"…"},"request_id":"…"}`.
    Anthropic,
}

/// Anthropic's error `type` for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
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

impl Dialect {
    /// The dialect of the route a request path belongs to.
    pub fn for_path(path: &str) -> Dialect {
        let under = |p: &str| path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/'));
        if ["/foundation-models", "/inference-profiles", "/model"]
            .into_iter()
            .any(under)
        {
            Dialect::Aws
        } else if under("/v1") {
            Dialect::Anthropic
        } else {
            Dialect::Proxy
        }
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

/// Response header: how many calls to Bedrock the proxy made for this request.
pub const ATTEMPTS_HEADER: &str = "x-proxy-attempts";

/// Turn any error into the JSON error response. The only place errors become HTTP.
pub fn error_response(err: &poem::Error, request_id: &str, dialect: Dialect) -> Response {
    let detail = ErrorDetail::from_poem(err, request_id);
    let status = StatusCode::from_u16(detail.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
    let body = match dialect {
        Dialect::Proxy => poem_openapi::types::ToJSON::to_json_string(&ErrorBody { error: detail }),
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
                    "type": anthropic_error_type(detail.status),
                    "message": detail.message,
                },
                "request_id": request_id,
            })
            .to_string()
        }
    };
    response.body(Body::from_string(body))
}
