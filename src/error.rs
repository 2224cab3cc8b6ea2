//! Every error of the proxy's domain, without any web framework: what the pipeline, the
//! Bedrock client and the transformers return. Each kind knows the HTTP status it stands for;
//! how it is written on the wire (the proxy's, AWS's, Anthropic's, OpenAI's shape) is the business of
//! each front end's dialect in `http::render`.

/// What went wrong, without any HTTP detail except the status each kind maps to.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The client's request cannot be sent as it is (bad JSON, wrong field types, …).
    #[error("{0}")]
    InvalidRequest(String),

    /// A request parameter the proxy cannot send on, named the way OpenAI clients expect
    /// (`param`, and a `code` such as `unsupported_parameter`).
    #[error("{message}")]
    BadParameter {
        message: String,
        param: Option<String>,
        code: Option<&'static str>,
    },

    /// `?profile=` names a profile that is not configured.
    #[error("unknown profile '{name}'; valid profiles: {}", valid.join(", "))]
    UnknownProfile { name: String, valid: Vec<String> },

    /// A model named by a client is no profile, alias, catalog model or Bedrock id; `close`
    /// are the known names that look like it.
    #[error("unknown model '{name}'{}; use a profile name, an alias ({}), an Anthropic model name the catalog has (GET /v1/models) or a Bedrock model id", did_you_mean(close), valid.join(", "))]
    UnknownModel {
        name: String,
        valid: Vec<String>,
        close: Vec<String>,
    },

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

    /// A stream failed before anything was sent to the client (an exception as its first
    /// frame, a cut, silence), so a status can still say what happened.
    #[error("{}", error.message)]
    Stream {
        error: StreamError,
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

/// `; did you mean: a, b?` for the close matches of an unknown name, or nothing.
fn did_you_mean(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean: {}?", close.join(", "))
    }
}

impl ProxyError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ProxyError::InvalidRequest(_) | ProxyError::BadParameter { .. } => 400,
            ProxyError::UnknownProfile { .. } | ProxyError::UnknownModel { .. } => 404,
            ProxyError::Credentials { .. } | ProxyError::Internal(_) => 500,
            ProxyError::Upstream { status, .. } if (100..600).contains(status) => *status,
            ProxyError::Upstream { .. } | ProxyError::Unreachable(_) => 502,
            ProxyError::Stream { error, .. } => error.status(),
            ProxyError::Timeout(_) => 504,
            ProxyError::Transformer { on_response, .. } => {
                if *on_response {
                    502
                } else {
                    400
                }
            }
            ProxyError::PayloadTooLarge { .. } => 413,
            ProxyError::Unauthorized(_) => 401,
            ProxyError::Overloaded { .. } => 503,
        }
    }

    /// The `type` field of the JSON error: Bedrock's exception name, or the proxy's own.
    pub fn error_type(&self) -> &str {
        match self {
            ProxyError::InvalidRequest(_) | ProxyError::BadParameter { .. } => "InvalidRequest",
            ProxyError::UnknownProfile { .. } => "UnknownProfile",
            ProxyError::UnknownModel { .. } => "UnknownModel",
            ProxyError::Credentials { .. } => "CredentialsUnavailable",
            ProxyError::Upstream { error_type, .. } => error_type,
            ProxyError::Stream { error, .. } => error.kind.name(),
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

    /// Bedrock's own request id, when Bedrock answered.
    pub fn upstream_request_id(&self) -> Option<&str> {
        match self {
            ProxyError::Upstream {
                upstream_request_id,
                ..
            }
            | ProxyError::Stream {
                upstream_request_id,
                ..
            } => upstream_request_id.as_deref(),
            _ => None,
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

    /// A client error found before any call to Bedrock.
    pub fn refused(error: ProxyError) -> ApiError {
        ApiError::from(error).with_attempts(0)
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

/// What ended a stream early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamErrorKind {
    /// Bedrock sent an exception (or error) frame: its name, e.g. `ThrottlingException`.
    Exception(String),
    /// The connection broke, a frame was corrupt, or Bedrock closed mid-frame.
    Interrupted,
    /// Bedrock went silent for longer than the idle timeout.
    Timeout,
    /// A response transformer failed on an event (its error type, e.g. `TransformerError`).
    Transformer(String),
}

impl StreamErrorKind {
    /// The name clients see in an error event: the exception name, `stream_interrupted` or
    /// `stream_timeout`.
    pub fn name(&self) -> &str {
        match self {
            StreamErrorKind::Exception(name) | StreamErrorKind::Transformer(name) => name,
            StreamErrorKind::Interrupted => "stream_interrupted",
            StreamErrorKind::Timeout => "stream_timeout",
        }
    }

    /// A transport failure (nothing the model said), which the retry loop treats like a
    /// failed connection.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            StreamErrorKind::Interrupted | StreamErrorKind::Timeout
        )
    }
}

/// Why a stream ended early, and what Bedrock (or the proxy) said about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct StreamError {
    pub kind: StreamErrorKind,
    pub message: String,
}

impl StreamError {
    pub fn interrupted(message: impl Into<String>) -> Self {
        StreamError {
            kind: StreamErrorKind::Interrupted,
            message: message.into(),
        }
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        StreamError {
            kind: StreamErrorKind::Timeout,
            message: message.into(),
        }
    }

    pub fn exception(name: impl Into<String>, message: impl Into<String>) -> Self {
        StreamError {
            kind: StreamErrorKind::Exception(name.into()),
            message: message.into(),
        }
    }

    /// The HTTP status this error stands for (what it is answered with before any output).
    pub fn status(&self) -> u16 {
        match &self.kind {
            StreamErrorKind::Exception(name) => exception_status(name),
            StreamErrorKind::Interrupted => 502,
            StreamErrorKind::Transformer(_) => 500,
            StreamErrorKind::Timeout => 504,
        }
    }

    /// The error to answer with while nothing has been sent to the client yet.
    pub fn before_output(self, upstream_request_id: Option<String>) -> ProxyError {
        ProxyError::Stream {
            error: self,
            upstream_request_id,
        }
    }
}

/// One Bedrock exception: the HTTP status the proxy answers it with, and the error `type`
/// Anthropic clients and OpenAI clients see. Bedrock's own status is kept everywhere (the
/// anthropic SDK retries 408, 409, 429 and ≥ 500; the openai SDK the same), so each row only
/// names the types. See docs/claude-code.md ("Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionRow {
    pub name: &'static str,
    pub status: u16,
    pub anthropic: &'static str,
    pub openai: &'static str,
}

const fn row(
    name: &'static str,
    status: u16,
    anthropic: &'static str,
    openai: &'static str,
) -> ExceptionRow {
    ExceptionRow {
        name,
        status,
        anthropic,
        openai,
    }
}

/// Every Bedrock runtime exception, in one table. `ServiceUnavailableException` and
/// `ModelNotReadyException` keep Bedrock's 503 and 429 and are typed `overloaded_error` (not
/// Anthropic's 529): both statuses are retried by every SDK, and 529 is not a status OpenAI
/// clients, AWS clients or load balancers know. Model failures (`ModelErrorException`,
/// `ModelStreamErrorException`, 424; `ModelTimeoutException`, 408) are the server side's, so
/// never `invalid_request_error`.
pub const BEDROCK_EXCEPTIONS: &[ExceptionRow] = &[
    row(
        "ValidationException",
        400,
        "invalid_request_error",
        "invalid_request_error",
    ),
    row(
        "AccessDeniedException",
        403,
        "permission_error",
        "permission_error",
    ),
    row(
        "UnrecognizedClientException",
        403,
        "authentication_error",
        "authentication_error",
    ),
    row(
        "ResourceNotFoundException",
        404,
        "not_found_error",
        "not_found_error",
    ),
    row("ModelTimeoutException", 408, "api_error", "server_error"),
    row(
        "ConflictException",
        409,
        "invalid_request_error",
        "invalid_request_error",
    ),
    row("ModelErrorException", 424, "api_error", "server_error"),
    row(
        "ModelStreamErrorException",
        424,
        "api_error",
        "server_error",
    ),
    row(
        "ThrottlingException",
        429,
        "rate_limit_error",
        "rate_limit_error",
    ),
    row(
        "ServiceQuotaExceededException",
        400,
        "rate_limit_error",
        "rate_limit_error",
    ),
    row(
        "ModelNotReadyException",
        429,
        "overloaded_error",
        "server_error",
    ),
    row("InternalServerException", 500, "api_error", "server_error"),
    row(
        "ServiceUnavailableException",
        503,
        "overloaded_error",
        "server_error",
    ),
];

/// The row of a Bedrock exception name (`ThrottlingException`, or the camel-cased form
/// event streams use, `throttlingException`).
pub fn exception_row(name: &str) -> Option<&'static ExceptionRow> {
    BEDROCK_EXCEPTIONS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
}

/// The HTTP status of an exception Bedrock sent inside a stream.
fn exception_status(kind: &str) -> u16 {
    exception_row(kind).map_or(500, |r| r.status)
}

/// A failed attempt, and whether any byte of Bedrock's response had arrived. After that a
/// transport failure (cut connection, silence) is not retried: the model may already be
/// running, and an answer may be half delivered.
#[derive(Debug)]
pub struct AttemptError {
    pub error: ProxyError,
    pub response_started: bool,
}

impl AttemptError {
    /// A failure before any response byte arrived (connect error, first-byte timeout, …).
    pub fn before_response(error: ProxyError) -> Self {
        AttemptError {
            error,
            response_started: false,
        }
    }

    /// A failure once Bedrock had started answering.
    pub fn after_response(error: ProxyError) -> Self {
        AttemptError {
            error,
            response_started: true,
        }
    }
}
