//! One request, end to end, without HTTP: pick the profile, check and transform the body,
//! call Bedrock, transform the answer. The api handlers only parse and map results.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::bedrock::eventstream::StreamError;
use crate::bedrock::{
    BedrockClient, ExtraHeaders, InvokeOutput, Operation, RawOutput, StreamOutput,
};
use crate::catalog::Catalog;
use crate::error::{ApiError, ProxyError};
use crate::profiles::{Profile, Profiles};
use crate::resilience::{self, Answered, AttemptError, UpstreamLimiter, UpstreamPermit};
use crate::routing::RoutingConfig;
use crate::transform::{EndpointKind, EventAction, RequestContext};

/// Shared state of a running proxy.
#[derive(Debug)]
pub struct Pipeline {
    pub profiles: Profiles,
    pub bedrock: BedrockClient,
    /// Cached control-plane answers (`/models`, `/foundation-models`, …).
    pub catalog: Catalog,
    /// The cap on concurrent upstream calls (`[limits]`).
    pub limiter: UpstreamLimiter,
    /// Which profile serves a model named by a client (`/model/{id}/…`, `/v1/messages`).
    pub routing: RoutingConfig,
}

/// How the client's body becomes Bedrock's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// Parsed, checked and run through the profile's request chain (an Anthropic Messages or
    /// legacy body).
    Transform,
    /// Sent byte for byte (a native Bedrock body for a model called directly, a Converse body).
    Verbatim,
}

/// One client request as the pipeline needs it, whatever front end it came through.
pub struct ClientRequest<'a> {
    /// The client's headers (transformers may read them).
    pub headers: &'a http::HeaderMap,
    /// The client's body (cheap to clone: each attempt of a verbatim body shares it).
    pub body: Bytes,
    pub mode: BodyMode,
    /// Request headers passed on to Bedrock (`X-Amzn-Bedrock-*`).
    pub extra: &'a ExtraHeaders,
}

impl ClientRequest<'_> {
    /// The Bedrock body for `profile`; sets `legacy_form` when the client used the legacy
    /// `prompt` form.
    fn body_for(
        &self,
        profile: &Profile,
        endpoint: EndpointKind,
        legacy_form: &AtomicBool,
    ) -> Result<Bytes, ProxyError> {
        match self.mode {
            BodyMode::Transform => {
                prepare_body(profile, endpoint, self.headers, &self.body, legacy_form)
            }
            BodyMode::Verbatim => Ok(self.body.clone()),
        }
    }
}

/// What transformers see of a request on `profile`.
fn context<'a>(
    profile: &'a Profile,
    endpoint: EndpointKind,
    headers: &'a http::HeaderMap,
    legacy_form: bool,
) -> RequestContext<'a> {
    RequestContext {
        profile: &profile.name,
        model_id: &profile.model_id,
        endpoint,
        headers,
        legacy_form,
    }
}

/// A JSON answer and how it came about.
pub struct InvokeAnswer {
    /// The profile that answered (a fallback profile, if the requested one was exhausted).
    pub profile: Arc<Profile>,
    /// Calls made to Bedrock, over all profiles tried.
    pub attempts: u32,
    pub output: InvokeOutput,
}

/// A stream that has received its first event, and the rest of it.
pub struct FirstEvent {
    pub first: Bytes,
    pub upstream: StreamOutput,
}

impl Pipeline {
    /// `InvokeModel` for a request routed to `start`, with retries, fallback profiles and the
    /// concurrency cap. `prepare` builds the Bedrock body for each profile tried from the
    /// client's request. Every front end that answers JSON goes through here.
    pub async fn call_invoke(
        &self,
        start: Arc<Profile>,
        op: Operation,
        extra: &ExtraHeaders,
        prepare: impl Fn(&Profile) -> Result<Bytes, ProxyError>,
    ) -> Result<Answered<InvokeOutput>, ApiError> {
        resilience::run(
            &self.profiles,
            &self.limiter,
            start,
            prepare,
            |profile, body, number| async move {
                self.bedrock
                    .invoke_attempt(&profile, op, body, number, extra)
                    .await
            },
        )
        .await
    }

    /// Any operation with retries, fallback profiles and the concurrency cap, answered as soon
    /// as Bedrock's headers arrive with a 2xx status; the body is relayed as it comes (an
    /// event stream is neither decoded nor buffered). Only failures before the answer started
    /// are retried. The upstream slot is held until the body ends.
    pub async fn call_relay(
        &self,
        start: Arc<Profile>,
        op: Operation,
        request: &ClientRequest<'_>,
    ) -> Result<Answered<RawOutput>, ApiError> {
        let legacy = AtomicBool::new(false);
        let endpoint = if op.is_stream() {
            EndpointKind::InvokeStream
        } else {
            EndpointKind::Invoke
        };
        let extra = request.extra;
        let mut answered = resilience::run(
            &self.profiles,
            &self.limiter,
            start,
            |p| request.body_for(p, endpoint, &legacy),
            |profile, body, number| async move {
                self.bedrock
                    .relay_attempt(&profile, op, body, number, extra)
                    .await
            },
        )
        .await?;
        let permit = std::mem::replace(&mut answered.permit, UpstreamPermit::none());
        let body = std::mem::replace(
            &mut answered.value.body,
            futures_util::stream::empty().boxed(),
        );
        answered.value.body = hold_until_end(body, permit);
        Ok(answered)
    }

    /// `InvokeModelWithResponseStream` for a request routed to `start`, with retries, fallback
    /// profiles and the concurrency cap, answering once the first event arrived. An attempt
    /// whose stream fails before its first event (an HTTP error, or an exception as the first
    /// frame) counts as failed and may be retried: nothing has reached the client yet. Every
    /// streaming front end goes through here; the returned permit must live as long as the
    /// stream is read.
    pub async fn call_stream(
        &self,
        start: Arc<Profile>,
        extra: &ExtraHeaders,
        prepare: impl Fn(&Profile) -> Result<Bytes, ProxyError>,
    ) -> Result<Answered<FirstEvent>, ApiError> {
        resilience::run(
            &self.profiles,
            &self.limiter,
            start,
            prepare,
            |profile, body, number| async move {
                let mut upstream = self
                    .bedrock
                    .invoke_stream_attempt(&profile, body, number, extra)
                    .await?;
                match upstream.events.next().await {
                    Some(Ok(first)) => Ok(FirstEvent { first, upstream }),
                    failed => {
                        let error = failed.and_then(Result::err).unwrap_or_else(|| {
                            StreamError::interrupted(
                                "Bedrock ended the stream without sending any event",
                            )
                        });
                        Err(AttemptError::after_response(
                            error.before_output(upstream.upstream_request_id.take()),
                        ))
                    }
                }
            },
        )
        .await
    }

    /// A request to `/invoke` or `/invoke_stream`: the profile `?profile=` names (or the
    /// default) and the client's body, to be transformed.
    fn proxy_request<'a>(
        &self,
        profile: Option<&str>,
        headers: &'a http::HeaderMap,
        raw: Bytes,
    ) -> Result<(Arc<Profile>, ClientRequest<'a>), ApiError> {
        let start = self
            .profiles
            .resolve(profile)
            .map_err(|e| ApiError::from(e).with_attempts(0))?;
        let request = ClientRequest {
            headers,
            body: raw,
            mode: BodyMode::Transform,
            extra: &[],
        };
        Ok((start, request))
    }

    /// `POST /invoke`: one JSON answer.
    pub async fn invoke(
        &self,
        profile: Option<&str>,
        headers: &http::HeaderMap,
        raw: Bytes,
    ) -> Result<InvokeAnswer, ApiError> {
        let (start, request) = self.proxy_request(profile, headers, raw)?;
        self.invoke_on(start, &request).await
    }

    /// `InvokeModel` on `start` (with its retries and fallbacks), the answer run through the
    /// answering profile's response chain.
    pub async fn invoke_on(
        &self,
        start: Arc<Profile>,
        request: &ClientRequest<'_>,
    ) -> Result<InvokeAnswer, ApiError> {
        let headers = request.headers;
        let legacy = AtomicBool::new(false);
        let answered = self
            .call_invoke(start, Operation::Invoke, request.extra, |p| {
                request.body_for(p, EndpointKind::Invoke, &legacy)
            })
            .await?;
        let Answered {
            value: mut out,
            profile,
            attempts,
            ..
        } = answered;
        let legacy_form = legacy.load(Ordering::Relaxed);
        let in_profile = |e: ProxyError| e.in_profile(&profile.name).with_attempts(attempts);
        if !profile.response_chain.is_empty() {
            let ctx = context(&profile, EndpointKind::Invoke, headers, legacy_form);
            let mut value: Value = serde_json::from_slice(&out.body).map_err(|e| {
                in_profile(ProxyError::Internal(format!(
                    "Bedrock's answer is not JSON, so response transformers cannot run: {e}"
                )))
            })?;
            profile
                .response_chain
                .apply_response(&ctx, &mut value)
                .map_err(in_profile)?;
            out.body =
                Bytes::from(serde_json::to_vec(&value).map_err(|e| {
                    in_profile(ProxyError::Internal(format!("serialize answer: {e}")))
                })?);
        }
        Ok(InvokeAnswer {
            profile,
            attempts,
            output: out,
        })
    }
}

/// The Bedrock body for `profile` from the client's raw body: parse, check, run the profile's
/// request chain, serialize.
///
/// `legacy_form` is set when the client sent the legacy `prompt` form (response transformers
/// such as `legacy_completion` need to know).
pub fn prepare_body(
    profile: &Profile,
    endpoint: EndpointKind,
    headers: &http::HeaderMap,
    raw: &[u8],
    legacy_form: &AtomicBool,
) -> Result<Bytes, ProxyError> {
    let mut body = parse_body(raw)?;
    check_body(&body)?;
    // check_body allows `prompt` only without `messages`.
    let legacy = body.contains_key("prompt");
    legacy_form.store(legacy, Ordering::Relaxed);
    profile
        .request_chain
        .apply(&context(profile, endpoint, headers, legacy), &mut body)?;
    let body = serde_json::to_vec(&body)
        .map_err(|e| ProxyError::Internal(format!("serialize body: {e}")))?;
    Ok(Bytes::from(body))
}

/// One item of a proxied stream: a model event (its `type` and JSON), or the error that ends it.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    Event { name: String, data: Bytes },
    Error(StreamError),
}

/// A stream that has started: Bedrock accepted the request and sent its first event.
pub struct StreamStart {
    /// The profile that answered (a fallback profile, if the requested one was exhausted).
    pub profile: Arc<Profile>,
    /// Calls made to Bedrock, over all profiles tried.
    pub attempts: u32,
    /// Bedrock's `x-amzn-*` response headers.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub items: BoxStream<'static, StreamItem>,
}

impl Pipeline {
    /// `POST /invoke_stream`: Bedrock's events, transformed, as they arrive.
    ///
    /// The first event is awaited before answering, so that an error Bedrock reports before
    /// any output (an HTTP error, or an exception as the first frame) becomes an HTTP status.
    pub async fn invoke_stream(
        &self,
        profile: Option<&str>,
        headers: &http::HeaderMap,
        raw: Bytes,
    ) -> Result<StreamStart, ApiError> {
        let (start, request) = self.proxy_request(profile, headers, raw)?;
        self.invoke_stream_on(start, &request).await
    }

    /// `InvokeModelWithResponseStream` on `start` (with its retries and fallbacks), decoded
    /// into events run through the answering profile's response chain.
    pub async fn invoke_stream_on(
        &self,
        start: Arc<Profile>,
        request: &ClientRequest<'_>,
    ) -> Result<StreamStart, ApiError> {
        let headers = request.headers;
        let legacy = AtomicBool::new(false);
        let Answered {
            value: FirstEvent { first, upstream },
            profile,
            attempts,
            permit,
        } = self
            .call_stream(start, request.extra, |p| {
                request.body_for(p, EndpointKind::InvokeStream, &legacy)
            })
            .await?;
        let legacy_form = legacy.load(Ordering::Relaxed);
        let events = futures_util::stream::once(futures_util::future::ready(Ok(first)))
            .chain(upstream.events);
        // The upstream events end after their own error; only a transformer can fail in the
        // middle, so only the transformed stream needs cutting after an error.
        let items: BoxStream<'static, StreamItem> = if profile.response_chain.is_empty() {
            events
                .map(|e| match e {
                    Ok(data) => StreamItem::Event {
                        name: event_type(&data),
                        data,
                    },
                    Err(e) => StreamItem::Error(e),
                })
                .boxed()
        } else {
            let p = profile.clone();
            let headers = headers.clone();
            stop_after_error(
                events
                    .filter_map(move |e| {
                        let item = match e {
                            Ok(data) => transform_event(&p, &headers, legacy_form, &data),
                            Err(e) => Some(StreamItem::Error(e)),
                        };
                        futures_util::future::ready(item)
                    })
                    .boxed(),
            )
        };
        Ok(StreamStart {
            profile,
            attempts,
            headers: upstream.headers,
            items: hold_until_end(items, permit),
        })
    }
}

/// Keep the upstream slot until the stream ends or is dropped.
pub fn hold_until_end<T: Send + 'static>(
    items: BoxStream<'static, T>,
    permit: UpstreamPermit,
) -> BoxStream<'static, T> {
    futures_util::stream::unfold((items, permit), |(mut items, permit)| async move {
        let item = items.next().await?;
        Some((item, (items, permit)))
    })
    .boxed()
}

/// End a stream right after its first error item.
fn stop_after_error(items: BoxStream<'static, StreamItem>) -> BoxStream<'static, StreamItem> {
    futures_util::stream::unfold((items, false), |(mut items, stopped)| async move {
        if stopped {
            return None;
        }
        let item = items.next().await?;
        let stop = matches!(item, StreamItem::Error(_));
        Some((item, (items, stop)))
    })
    .boxed()
}

/// Run the profile's response chain on one event; `None` when a transformer dropped it.
fn transform_event(
    profile: &Profile,
    headers: &http::HeaderMap,
    legacy_form: bool,
    data: &[u8],
) -> Option<StreamItem> {
    let ctx = context(profile, EndpointKind::InvokeStream, headers, legacy_form);
    let mut value: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            return Some(StreamItem::Error(StreamError::interrupted(format!(
                "Bedrock sent an event that is not JSON: {e}"
            ))))
        }
    };
    match profile.response_chain.apply_event(&ctx, &mut value) {
        Ok(EventAction::Drop) => None,
        Ok(EventAction::Keep) => match serde_json::to_vec(&value) {
            Ok(bytes) => {
                let data = Bytes::from(bytes);
                Some(StreamItem::Event {
                    name: event_type(&data),
                    data,
                })
            }
            Err(e) => Some(StreamItem::Error(StreamError::interrupted(e.to_string()))),
        },
        Err(e) => Some(StreamItem::Error(StreamError {
            kind: e.error_type().to_string(),
            message: e.to_string(),
        })),
    }
}

/// The `type` of a model event (`content_block_delta`, …); `completion` for legacy
/// text-completion chunks, which have none.
pub fn event_type(data: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_slice::<Typed<'_>>(data) {
        Ok(Typed { kind: Some(k) }) => k.into_owned(),
        _ => "completion".to_string(),
    }
}

/// Parse the client's body into a JSON object, or say what is wrong with it.
pub fn parse_body(raw: &[u8]) -> Result<Map<String, Value>, ProxyError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ProxyError::InvalidRequest(
            "request body is empty; send a JSON object such as {\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":256}".into(),
        ));
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ProxyError::InvalidRequest(format!(
            "request body must be a JSON object, not {}",
            json_kind(&other)
        ))),
        Err(e) => Err(ProxyError::InvalidRequest(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad(msg: String) -> ProxyError {
    ProxyError::InvalidRequest(msg)
}

/// Check the fields the proxy relies on, so obvious mistakes get a 400 without a Bedrock call.
/// Everything else passes through for Bedrock to judge.
pub fn check_body(body: &Map<String, Value>) -> Result<(), ProxyError> {
    match (body.get("messages"), body.get("prompt")) {
        (None, None) => {
            return Err(bad(
                "request body needs `messages` (Anthropic Messages API) or `prompt` (legacy text completion), e.g. {\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":256}".into(),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "send either `messages` (Messages API) or `prompt` (legacy text completion), not both".into(),
            ))
        }
        (Some(Value::Array(messages)), _) => {
            if messages.is_empty() {
                return Err(bad("`messages` must not be empty".into()));
            }
            for (i, m) in messages.iter().enumerate() {
                let Some(m) = m.as_object() else {
                    return Err(bad(format!(
                        "`messages[{i}]` must be an object with `role` and `content`, not {}",
                        json_kind(m)
                    )));
                };
                match m.get("role").and_then(Value::as_str) {
                    Some("user" | "assistant") => {}
                    _ => {
                        return Err(bad(format!(
                            "`messages[{i}].role` must be \"user\" or \"assistant\""
                        )))
                    }
                }
                match m.get("content") {
                    Some(Value::String(_) | Value::Array(_)) => {}
                    _ => {
                        return Err(bad(format!(
                            "`messages[{i}].content` must be a string or an array of content blocks"
                        )))
                    }
                }
            }
        }
        (Some(other), _) => {
            return Err(bad(format!(
                "`messages` must be an array of {{role, content}} objects, not {}",
                json_kind(other)
            )))
        }
        (None, Some(Value::String(_))) => {}
        (None, Some(other)) => {
            return Err(bad(format!(
                "`prompt` must be a string, not {}",
                json_kind(other)
            )))
        }
    }
    for key in ["max_tokens", "max_tokens_to_sample", "top_k"] {
        if let Some(v) = body.get(key) {
            if !v.as_u64().is_some_and(|n| n > 0 || key == "top_k") {
                return Err(bad(format!("`{key}` must be a positive integer, not {v}")));
            }
        }
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key) {
            if !v.is_number() {
                return Err(bad(format!(
                    "`{key}` must be a number, not {}",
                    json_kind(v)
                )));
            }
        }
    }
    if let Some(v) = body.get("stop_sequences") {
        if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err(bad("`stop_sequences` must be an array of strings".into()));
        }
    }
    if let Some(v) = body.get("system") {
        if !(v.is_string() || v.is_array()) {
            return Err(bad(
                "`system` must be a string or an array of text blocks".into()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), ProxyError> {
        check_body(v.as_object().unwrap())
    }

    #[test]
    fn body_checks_say_what_to_fix() {
        assert!(check(json!({"messages":[{"role":"user","content":"Hi"}]})).is_ok());
        assert!(check(json!({"prompt":"Hi","max_tokens_to_sample":5})).is_ok());
        let e = check(json!({"max_tokens":5})).unwrap_err().to_string();
        assert!(e.contains("`messages`") && e.contains("`prompt`"), "{e}");
        let e = check(json!({"messages":"Hi"})).unwrap_err().to_string();
        assert!(e.contains("must be an array"), "{e}");
        let e = check(json!({"messages":[{"role":"bot","content":"x"}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("messages[0].role"), "{e}");
        let e = check(json!({"messages":[{"role":"user","content":"x"}],"max_tokens":"10"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_tokens"), "{e}");
        assert!(parse_body(b"[1]")
            .unwrap_err()
            .to_string()
            .contains("an array"));
        assert!(parse_body(b"{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(parse_body(b"  ").unwrap_err().to_string().contains("empty"));
    }
}
