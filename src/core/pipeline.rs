//! One request, end to end, without HTTP: [`Pipeline::execute`] is the one way into
//! execution for every runtime call (InvokeModel, its stream, Converse, its stream,
//! CountTokens, relays). It prepares the body once per profile tried (parse, checks, the
//! profile's request chain), runs the retry loop, and shapes the answer: a whole JSON body
//! through the response chain, decoded events, or Bedrock's bytes relayed.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::metered;
use super::prepare::{self, context, Prepared};
use super::stream::{self, StreamItem};
use crate::bedrock::{
    AttemptNumber, BedrockClient, InvokeOutput, Operation, RawOutput, StreamOutput, Target,
};
use crate::catalog::Catalog;
use crate::core::names::{ModelNames, Resolution};
use crate::core::profiles::{Profile, Profiles};
use crate::core::resilience::{self, Answered, Attempts, UpstreamLimiter};
use crate::core::router::{for_count_tokens, Routed};
use crate::error::{ApiError, AttemptError, ProxyError, StreamError};
use crate::metrics::Metrics;
use crate::settings::RoutingConfig;

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
    /// Anthropic API model names resolved from the catalog, and betas refused per model.
    pub names: ModelNames,
    /// What the proxy counts (`GET /metrics`) and the price table.
    pub metrics: Arc<Metrics>,
}

/// The client's body, as the front end hands it over.
#[derive(Debug, Clone)]
pub enum CallBody {
    /// An Anthropic Messages (or legacy `prompt`) body still to parse, check and transform.
    Raw(Bytes),
    /// The same, already parsed by the front end (which needed a field of it).
    Parsed(Map<String, Value>),
    /// Sent byte for byte (a native Bedrock body for a model called directly, a Converse body).
    Verbatim(Bytes),
    /// A Converse body built by a front end (the OpenAI one), to run through the request
    /// chain's transformers that handle Converse bodies.
    Converse(Map<String, Value>),
}

/// How the answer should come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole JSON answer, through the response chain.
    Whole,
    /// The decoded model events, through the response chain, once the first has arrived.
    Events,
    /// Bedrock's own wire format, relayed as it arrives; where the profile's response chain
    /// must see the answer, it is decoded, transformed and encoded again.
    Native,
}

/// One runtime call, whatever front end it came through.
pub struct Call<'a> {
    /// Where the call starts (its fallbacks follow).
    pub profile: Arc<Profile>,
    pub op: Operation,
    pub body: CallBody,
    pub delivery: Delivery,
    /// The client's headers (transformers may read them).
    pub headers: &'a http::HeaderMap,
    /// Request headers passed on to Bedrock (`X-Amzn-Bedrock-*`).
    pub extra: Vec<(http::HeaderName, http::HeaderValue)>,
}

/// What an answer carries.
pub enum AnswerBody {
    /// A whole body (JSON).
    Whole(Bytes),
    /// Model events as they arrive; ends after the last, or with one error item.
    Events(BoxStream<'static, StreamItem>),
    /// Bedrock's bytes as they arrive.
    Raw(BoxStream<'static, Result<Bytes, std::io::Error>>),
}

/// A call's answer and how it came about.
pub struct Answer {
    /// The profile that answered (a fallback profile, if the requested one was exhausted).
    pub profile: Arc<Profile>,
    /// Calls made to Bedrock, over all profiles tried.
    pub attempts: u32,
    pub status: u16,
    pub content_type: Option<http::HeaderValue>,
    /// Bedrock's `x-amzn-*` response headers.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: AnswerBody,
}

impl Pipeline {
    /// The profile `?profile=` names, or the default.
    pub fn profile(&self, name: Option<&str>) -> Result<Arc<Profile>, ApiError> {
        self.profiles.resolve(name).map_err(ApiError::refused)
    }

    /// The profile that serves a model a client named (see `core::router`).
    pub fn route(&self, model: &str) -> Result<Routed, ApiError> {
        self.routing
            .route(&self.profiles, model)
            .map_err(ApiError::refused)
    }

    /// Like [`Pipeline::route`], with direct calls made from the region of the profile `home`
    /// names (`?profile=`), or the default's; a name no profile or alias has is looked up in the
    /// catalog as an Anthropic API model name (`claude-sonnet-4-5`, …; see `core::names`).
    pub async fn resolve(&self, model: &str, home: Option<&str>) -> Result<Routed, ApiError> {
        let home = self.profile(home)?;
        let unknown = match self.routing.route_from(&self.profiles, model, &home) {
            Err(ProxyError::UnknownModel { name, valid, .. }) => (name, valid),
            routed => return routed.map_err(ApiError::refused),
        };
        match self.names.resolve(&self.catalog, &home, model).await {
            Resolution::Found(id) => self
                .routing
                .route_from(&self.profiles, &id, &home)
                .map_err(ApiError::refused),
            Resolution::Unknown { close } => Err(ApiError::refused(ProxyError::UnknownModel {
                name: unknown.0,
                valid: unknown.1,
                close,
            })),
        }
    }

    /// Run one call: retries, fallback profiles, the concurrency cap, both chains. Where it
    /// ended, and Bedrock's usage, go to the request's tally.
    pub async fn execute(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        let result = self.dispatch(call).await;
        match &result {
            Ok(answer) => metered::answered(&answer.profile, answer.attempts),
            Err(e) => metered::failed(e),
        }
        result
    }

    async fn dispatch(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        let start = if call.op == Operation::CountTokens {
            for_count_tokens(&call.profile)
        } else {
            call.profile.clone()
        };
        let transforms = !matches!(call.body, CallBody::Verbatim(_));
        match (call.delivery, call.op) {
            (Delivery::Whole, _) | (Delivery::Native, Operation::Invoke) if transforms => {
                self.whole(start, &call).await
            }
            (Delivery::Events, _) => self.events(start, &call).await,
            (Delivery::Native, Operation::InvokeStream)
                if transforms && !start.response_chain.is_empty() =>
            {
                let mut answer = self.events(start, &call).await?;
                if let AnswerBody::Events(items) = answer.body {
                    answer.body = AnswerBody::Raw(stream::encode(items));
                }
                answer.content_type = Some(http::HeaderValue::from_static(
                    "application/vnd.amazon.eventstream",
                ));
                answer.headers.push((
                    http::HeaderName::from_static("x-amzn-bedrock-content-type"),
                    http::HeaderValue::from_static("application/json"),
                ));
                Ok(answer)
            }
            (Delivery::Whole, _) => self.whole(start, &call).await,
            (Delivery::Native, _) => self.relay(start, &call).await,
        }
    }

    /// The retry loop over `call`, each attempt made the `fetch` way.
    async fn run<F: Fetch>(
        &self,
        start: Arc<Profile>,
        call: &Call<'_>,
        fetch: F,
    ) -> Result<Answered<F::Output>, ApiError> {
        let exec = Exec {
            pipeline: self,
            call,
            fetch,
        };
        resilience::run(&self.profiles, &self.limiter, start, &exec).await
    }

    /// A JSON operation, its answer through the answering profile's response chain.
    async fn whole(&self, start: Arc<Profile>, call: &Call<'_>) -> Result<Answer, ApiError> {
        let answered = self.run(start, call, Json).await?;
        let Answered {
            value: mut out,
            profile,
            attempts,
            legacy_form,
            ..
        } = answered;
        let in_profile = |e: ProxyError| e.in_profile(&profile.name).with_attempts(attempts);
        metered::whole(&profile, call.op, &out.body);
        if !profile.response_chain.is_empty() && call.op != Operation::CountTokens {
            out.body = respond(&profile, call, legacy_form, &out.body).map_err(in_profile)?;
        }
        Ok(Answer {
            profile,
            attempts,
            status: out.status,
            content_type: out.content_type,
            headers: out.headers,
            body: AnswerBody::Whole(out.body),
        })
    }

    /// A stream, answered once its first event arrived. An attempt whose stream fails before
    /// its first event (an HTTP error, or an exception as the first frame) counts as failed
    /// and may be retried: nothing has reached the client yet. The upstream slot is held
    /// until the stream ends.
    async fn events(&self, start: Arc<Profile>, call: &Call<'_>) -> Result<Answer, ApiError> {
        let Answered {
            value: FirstEvent { first, upstream },
            profile,
            attempts,
            legacy_form,
            permit,
        } = self.run(start, call, Events).await?;
        let events = futures_util::stream::once(futures_util::future::ready(Ok(first)))
            .chain(upstream.events)
            .boxed();
        let shaping = stream::Shaping {
            headers: call.headers,
            endpoint: prepare::endpoint(call.op),
            legacy_form,
        };
        let items = stream::shape(events, &profile, shaping, permit);
        let items = metered::events(items, &profile);
        Ok(Answer {
            profile,
            attempts,
            status: 200,
            content_type: None,
            headers: upstream.headers,
            body: AnswerBody::Events(items),
        })
    }

    /// Any operation, answered as soon as Bedrock's headers arrive with a 2xx status; the body
    /// is relayed as it comes (an event stream is neither decoded nor buffered). Only failures
    /// before the answer started are retried.
    async fn relay(&self, start: Arc<Profile>, call: &Call<'_>) -> Result<Answer, ApiError> {
        let Answered {
            value: out,
            profile,
            attempts,
            permit,
            ..
        } = self.run(start, call, Relay).await?;
        let body = metered::relay(stream::hold_until_end(out.body, permit), &profile, call.op);
        Ok(Answer {
            profile,
            attempts,
            status: out.status,
            content_type: out.content_type,
            headers: out.headers,
            body: AnswerBody::Raw(body),
        })
    }
}

/// Run the response chain on a whole JSON answer.
fn respond(
    profile: &Profile,
    call: &Call<'_>,
    legacy_form: bool,
    body: &[u8],
) -> Result<Bytes, ProxyError> {
    let ctx = context(
        profile,
        prepare::endpoint(call.op),
        call.headers,
        legacy_form,
    );
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        ProxyError::Internal(format!(
            "Bedrock's answer is not JSON, so response transformers cannot run: {e}"
        ))
    })?;
    profile.response_chain.apply_response(&ctx, &mut value)?;
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|e| ProxyError::Internal(format!("serialize answer: {e}")))
}

/// The Bedrock body of `call` for `profile`.
fn prepare_for(call: &Call<'_>, profile: &Profile) -> Result<Prepared, ProxyError> {
    let endpoint = prepare::endpoint(call.op);
    let prepared = match &call.body {
        CallBody::Verbatim(bytes) => return Ok(Prepared::verbatim(bytes.clone())),
        CallBody::Raw(bytes) => {
            prepare::transform(profile, endpoint, call.headers, prepare::parse_body(bytes)?)?
        }
        CallBody::Parsed(map) => prepare::transform(profile, endpoint, call.headers, map.clone())?,
        CallBody::Converse(map) => prepare::converse(profile, endpoint, call.headers, map)?,
    };
    if call.op != Operation::CountTokens {
        return Ok(prepared);
    }
    // CountTokens counts the InvokeModel body it would be sent.
    let wrapped = serde_json::json!({
        "input": { "invokeModel": {
            "body": base64::engine::general_purpose::STANDARD.encode(&prepared.body)
        } }
    });
    Ok(Prepared {
        body: Bytes::from(wrapped.to_string()),
        ..prepared
    })
}

/// A stream that has received its first event, and the rest of it.
struct FirstEvent {
    first: Bytes,
    upstream: StreamOutput,
}

/// One way of making an attempt: the Bedrock call and what it answers.
trait Fetch: Sync {
    type Output;
    fn fetch(
        &self,
        bedrock: &BedrockClient,
        target: &Target,
        call: &Call<'_>,
        body: Bytes,
        number: AttemptNumber,
    ) -> impl std::future::Future<Output = Result<Self::Output, AttemptError>> + Send;
}

/// A call as the retry loop runs it: its body prepared per profile, fetched the `F` way.
struct Exec<'p, 'c, 'a, F> {
    pipeline: &'p Pipeline,
    call: &'c Call<'a>,
    fetch: F,
}

impl<F: Fetch> Attempts for Exec<'_, '_, '_, F> {
    type Output = F::Output;
    fn prepare(&self, profile: &Profile) -> Result<Prepared, ProxyError> {
        prepare_for(self.call, profile)
    }
    async fn attempt(
        &self,
        profile: &Profile,
        body: Bytes,
        number: AttemptNumber,
    ) -> Result<F::Output, AttemptError> {
        let bedrock = &self.pipeline.bedrock;
        self.fetch
            .fetch(bedrock, &profile.target, self.call, body, number)
            .await
    }
}

/// The whole JSON answer.
struct Json;
/// The decoded events, once the first arrived.
struct Events;
/// The answer's bytes as they arrive.
struct Relay;

impl Fetch for Json {
    type Output = InvokeOutput;
    async fn fetch(
        &self,
        bedrock: &BedrockClient,
        target: &Target,
        call: &Call<'_>,
        body: Bytes,
        number: AttemptNumber,
    ) -> Result<InvokeOutput, AttemptError> {
        bedrock
            .json(target, call.op, body, number, &call.extra)
            .await
    }
}

impl Fetch for Events {
    type Output = FirstEvent;
    async fn fetch(
        &self,
        bedrock: &BedrockClient,
        target: &Target,
        call: &Call<'_>,
        body: Bytes,
        number: AttemptNumber,
    ) -> Result<FirstEvent, AttemptError> {
        let mut upstream = bedrock
            .events(target, call.op, body, number, &call.extra)
            .await?;
        match upstream.events.next().await {
            Some(Ok(first)) => Ok(FirstEvent { first, upstream }),
            failed => {
                let error = failed.and_then(Result::err).unwrap_or_else(|| {
                    StreamError::interrupted("Bedrock ended the stream without sending any event")
                });
                Err(AttemptError::after_response(
                    error.before_output(upstream.upstream_request_id.take()),
                ))
            }
        }
    }
}

impl Fetch for Relay {
    type Output = RawOutput;
    async fn fetch(
        &self,
        bedrock: &BedrockClient,
        target: &Target,
        call: &Call<'_>,
        body: Bytes,
        number: AttemptNumber,
    ) -> Result<RawOutput, AttemptError> {
        bedrock
            .relay(target, call.op, body, number, &call.extra)
            .await
    }
}
