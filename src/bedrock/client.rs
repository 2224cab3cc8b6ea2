//! The Bedrock runtime client: builds the URL, signs, sends over pooled keep-alive connections.
//!
//! One `reqwest::Client` per distinct connect timeout (normally one per process), so
//! connections are reused across requests and profiles. Timeouts fit long answers: a connect
//! timeout, a time-to-first-byte timeout on the response headers, and an idle timeout between
//! body chunks; never one total-request timeout.

use super::target::Target;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::eventstream::{model_events, Framing};
use super::read::{describe, map_send_error, read_body};
use super::signing::sign_request;
use super::types::{passthrough_headers, request_id, upstream_error};
use super::CredentialStore;
use crate::error::StreamError;
use crate::error::{AttemptError, ProxyError};
use crate::settings::Timeouts;

/// Characters kept as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A Bedrock runtime operation on a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Invoke,
    InvokeStream,
    Converse,
    ConverseStream,
    CountTokens,
}

impl Operation {
    /// Every operation, in `index` order.
    pub const ALL: [Operation; 5] = [
        Operation::Invoke,
        Operation::InvokeStream,
        Operation::Converse,
        Operation::ConverseStream,
        Operation::CountTokens,
    ];

    pub(super) fn index(self) -> usize {
        match self {
            Operation::Invoke => 0,
            Operation::InvokeStream => 1,
            Operation::Converse => 2,
            Operation::ConverseStream => 3,
            Operation::CountTokens => 4,
        }
    }

    /// The last path segment: `/model/{id}/{this}`.
    pub fn path_suffix(self) -> &'static str {
        match self {
            Operation::Invoke => "invoke",
            Operation::InvokeStream => "invoke-with-response-stream",
            Operation::Converse => "converse",
            Operation::ConverseStream => "converse-stream",
            Operation::CountTokens => "count-tokens",
        }
    }

    /// Whether Bedrock answers with an event stream.
    pub fn is_stream(self) -> bool {
        matches!(self, Operation::InvokeStream | Operation::ConverseStream)
    }
}

/// Request headers a client may send to Bedrock through the proxy (`X-Amzn-Bedrock-*`:
/// guardrails, trace, performance configuration, …); signed with the rest.
pub type ExtraHeaders = [(http::HeaderName, HeaderValue)];

/// An answer relayed as it arrives: status, Bedrock's headers, and the body bytes.
pub struct RawOutput {
    pub status: u16,
    /// Bedrock's `x-amzn-*` headers.
    pub headers: Vec<(http::HeaderName, HeaderValue)>,
    pub content_type: Option<HeaderValue>,
    /// The body as it arrives; ends with an error when Bedrock goes silent longer than the
    /// idle timeout or the connection breaks.
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// A successful `InvokeModel` answer, body untouched.
#[derive(Debug)]
pub struct InvokeOutput {
    pub status: u16,
    /// Bedrock's `x-amzn-*` headers (request id, token counts, latency).
    pub headers: Vec<(http::HeaderName, HeaderValue)>,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// A streaming answer whose headers arrived with a 2xx status; the events follow.
pub struct StreamOutput {
    /// Bedrock's `x-amzn-*` headers.
    pub headers: Vec<(http::HeaderName, HeaderValue)>,
    pub upstream_request_id: Option<String>,
    /// Model events in order; ends after the last one, or with one `Err`.
    pub events: BoxStream<'static, Result<Bytes, StreamError>>,
}

/// Which attempt of a call this is, and the id shared by all attempts of one client request.
/// Sent upstream (and signed) as the AWS SDKs do: `amz-sdk-invocation-id: <uuid>` and
/// `amz-sdk-request: attempt=N; max=M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptNumber {
    pub invocation_id: uuid::Uuid,
    pub attempt: u32,
    pub max_attempts: u32,
}

/// Who signs a request and how long it may take: the credentials' named AWS profile, the
/// region signed for, the timeouts.
pub(super) struct Signed<'a> {
    pub aws_profile: Option<&'a str>,
    pub region: &'a str,
    pub timeouts: &'a Timeouts,
}

/// Calls Bedrock on behalf of the proxy. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BedrockClient {
    http: HashMap<Duration, reqwest::Client>,
    credentials: CredentialStore,
}

/// One path segment, percent-encoded the way Bedrock's SDKs send it (`:` → `%3A`).
pub fn path_segment(s: &str) -> impl std::fmt::Display + '_ {
    utf8_percent_encode(s, SEGMENT)
}

/// `{endpoint}/model/{percent-encoded id}/{operation}`.
pub fn model_url(
    endpoint: &str,
    model_id: &str,
    op: Operation,
) -> Result<reqwest::Url, ProxyError> {
    let url = format!(
        "{endpoint}/model/{}/{}",
        path_segment(model_id),
        op.path_suffix()
    );
    reqwest::Url::parse(&url).map_err(|e| ProxyError::Internal(format!("bad URL {url}: {e}")))
}

impl BedrockClient {
    /// A client with one connection pool per distinct connect timeout.
    pub fn new(
        credentials: CredentialStore,
        connect_timeouts: impl IntoIterator<Item = Duration>,
    ) -> Result<Self, ProxyError> {
        let mut http = HashMap::new();
        for t in connect_timeouts {
            if let std::collections::hash_map::Entry::Vacant(slot) = http.entry(t) {
                let client = reqwest::Client::builder()
                    .connect_timeout(t)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tcp_nodelay(true)
                    // Bedrock does not redirect; following a redirect would send a signed
                    // request somewhere unsigned for. (reqwest's redirect layer still parses
                    // each request's URL: docs/performance.md, session 6's profile.)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("bedrock-proxy/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| ProxyError::Internal(format!("HTTP client: {e}")))?;
                slot.insert(client);
            }
        }
        Ok(BedrockClient { http, credentials })
    }

    pub(super) fn http_for(&self, timeouts: &Timeouts) -> Result<&reqwest::Client, ProxyError> {
        self.http
            .get(&timeouts.connect)
            .or_else(|| self.http.values().next())
            .ok_or_else(|| ProxyError::Internal("no HTTP client configured".into()))
    }

    /// Sign and send one attempt of a runtime operation; answer the response once its headers
    /// arrived with a 2xx status, or the error Bedrock answered with.
    async fn send(
        &self,
        target: &Target,
        op: Operation,
        body: Bytes,
        number: AttemptNumber,
        extra: &ExtraHeaders,
    ) -> Result<reqwest::Response, AttemptError> {
        let url = match target.urls.get(op) {
            Some(url) => url.clone(),
            None => model_url(&target.endpoint, &target.model_id, op)
                .map_err(AttemptError::before_response)?,
        };
        let mut headers = HeaderMap::new();
        // As the AWS SDKs do: one id for all attempts of a call, and the attempt number. Both
        // are signed, so every attempt carries a signature of its own.
        if let Ok(v) = HeaderValue::from_str(&number.invocation_id.to_string()) {
            headers.insert("amz-sdk-invocation-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attempt={}; max={}",
            number.attempt, number.max_attempts
        )) {
            headers.insert("amz-sdk-request", v);
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if op.is_stream() {
            headers.insert(
                http::header::ACCEPT,
                HeaderValue::from_static("application/vnd.amazon.eventstream"),
            );
        } else {
            headers.insert(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
        }
        if op == Operation::InvokeStream {
            headers.insert(
                "x-amzn-bedrock-accept",
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in extra {
            headers.insert(name.clone(), value.clone());
        }
        let signed = Signed {
            aws_profile: target.aws_profile.as_deref(),
            region: &target.region,
            timeouts: &target.timeouts,
        };
        self.signed_send(http::Method::POST, url, headers, body, &signed)
            .await
    }

    /// The one way any request reaches Bedrock (runtime or control plane): credentials, SigV4
    /// over `headers` (which must hold every header to sign), send on the pooled client, the
    /// first-byte timeout, and Bedrock's error answer for a non-2xx status.
    pub(super) async fn signed_send(
        &self,
        method: http::Method,
        url: reqwest::Url,
        mut headers: HeaderMap,
        body: Bytes,
        target: &Signed<'_>,
    ) -> Result<reqwest::Response, AttemptError> {
        let before = AttemptError::before_response;
        let creds = self
            .credentials
            .get(target.aws_profile)
            .await
            .map_err(before)?;
        sign_request(
            method.as_str(),
            &url,
            &mut headers,
            &body,
            &creds,
            target.region,
            SystemTime::now(),
        )
        .map_err(before)?;
        let timeouts = target.timeouts;
        let request = self
            .http_for(timeouts)
            .map_err(before)?
            .request(method, url)
            .headers(headers)
            .body(body);
        let mut response = match tokio::time::timeout(timeouts.first_byte, request.send()).await {
            Err(_) => {
                return Err(before(ProxyError::Timeout(format!(
                    "no response within {:?} (first_byte_timeout)",
                    timeouts.first_byte
                ))))
            }
            Ok(r) => r.map_err(|e| before(map_send_error(e)))?,
        };
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = response.headers().clone();
            let body = read_body(&mut response, timeouts.idle)
                .await
                .map_err(AttemptError::after_response)?;
            return Err(AttemptError::after_response(upstream_error(
                status, &headers, &body,
            )));
        }
        Ok(response)
    }

    /// A JSON operation (`InvokeModel`, `Converse`, `CountTokens`): one signed attempt, the
    /// whole answer.
    pub async fn json(
        &self,
        target: &Target,
        op: Operation,
        body: Bytes,
        number: AttemptNumber,
        extra: &ExtraHeaders,
    ) -> Result<InvokeOutput, AttemptError> {
        let mut response = self.send(target, op, body, number, extra).await?;
        let status = response.status().as_u16();
        let headers = passthrough_headers(response.headers());
        let content_type = response.headers().get(http::header::CONTENT_TYPE).cloned();
        let body = read_body(&mut response, target.timeouts.idle)
            .await
            .map_err(AttemptError::after_response)?;
        Ok(InvokeOutput {
            status,
            headers,
            content_type,
            body,
        })
    }

    /// A stream (`InvokeModelWithResponseStream`, or `ConverseStream` when `op` says so): one
    /// signed attempt; headers received, events decoded as they arrive.
    pub async fn events(
        &self,
        target: &Target,
        op: Operation,
        body: Bytes,
        number: AttemptNumber,
        extra: &ExtraHeaders,
    ) -> Result<StreamOutput, AttemptError> {
        let (op, framing) = match op {
            Operation::ConverseStream => (op, Framing::Typed),
            _ => (Operation::InvokeStream, Framing::Chunks),
        };
        let response = self.send(target, op, body, number, extra).await?;
        Ok(StreamOutput {
            headers: passthrough_headers(response.headers()),
            upstream_request_id: request_id(response.headers()),
            events: model_events(response, target.timeouts.idle, framing).boxed(),
        })
    }

    /// Any operation, one signed attempt, answered once Bedrock's headers arrived with a 2xx
    /// status: the body is relayed as it arrives, never decoded or buffered.
    pub async fn relay(
        &self,
        target: &Target,
        op: Operation,
        body: Bytes,
        number: AttemptNumber,
        extra: &ExtraHeaders,
    ) -> Result<RawOutput, AttemptError> {
        let response = self.send(target, op, body, number, extra).await?;
        let status = response.status().as_u16();
        let headers = passthrough_headers(response.headers());
        let content_type = response.headers().get(http::header::CONTENT_TYPE).cloned();
        let idle = target.timeouts.idle;
        let body = futures_util::stream::unfold(Some(response), move |state| async move {
            let mut response = state?;
            match tokio::time::timeout(idle, response.chunk()).await {
                Ok(Ok(Some(chunk))) => Some((Ok(chunk), Some(response))),
                Ok(Ok(None)) => None,
                Ok(Err(e)) => Some((Err(std::io::Error::other(describe(&e))), None)),
                Err(_) => Some((
                    Err(std::io::Error::other(format!(
                        "Bedrock went silent for {idle:?} (idle_timeout)"
                    ))),
                    None,
                )),
            }
        })
        .boxed();
        Ok(RawOutput {
            status,
            headers,
            content_type,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_id_is_percent_encoded_in_the_path() {
        let url = model_url(
            "https://bedrock-runtime.eu-central-1.amazonaws.com",
            "eu.anthropic.claude-sonnet-4-20250514-v1:0",
            Operation::Invoke,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://bedrock-runtime.eu-central-1.amazonaws.com/model/eu.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke"
        );
        let arn = model_url(
            "http://127.0.0.1:9",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
            Operation::InvokeStream,
        )
        .unwrap();
        assert_eq!(
            arn.path(),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc/invoke-with-response-stream"
        );
    }
}
