//! The plugin surface: request and response transformers, the chains that run them, and the
//! registry that builds them by name from configuration.
//!
//! A `RequestTransformer` edits the JSON body on its way to Bedrock; a `ResponseTransformer`
//! edits a whole JSON answer, or each streamed event (and may drop one). Both are synchronous,
//! object-safe and `Send + Sync`: they work on data already in memory, so an `async` trait would
//! only add boxing on the hot path. Built-ins are ordinary implementations of these traits, one
//! file each; [`Registry`] maps their names to factories that read their options.

pub mod anthropic_api;
mod anthropic_defaults;
mod beta_filter;
mod chains;
mod legacy_completion;
mod legacy_prompt;
mod max_tokens_limit;
mod redact;
mod registry;
mod system_prompt;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use anthropic_defaults::{AnthropicDefaults, BEDROCK_ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS};
pub use beta_filter::{BetaFilter, BetaFilterOptions, BEDROCK_BETAS};
pub use chains::{assemble, ProfileChains};
pub use legacy_completion::{LegacyCompletion, LegacyCompletionOptions, LEGACY_COMPLETION_HEADER};
pub use legacy_prompt::LegacyPrompt;
pub use max_tokens_limit::{MaxTokensLimit, MaxTokensLimitOptions};
pub use redact::{Redact, RedactOptions, RedactPattern, PRESETS};
pub use registry::{BuildError, NoOptions, Options, OptionsError, Registry, FIXED};
pub use system_prompt::{Position, SystemPrompt, SystemPromptOptions};

use crate::error::ProxyError;

/// Which kind of call a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// `InvokeModel`: one JSON answer.
    Invoke,
    /// `InvokeModelWithResponseStream`: an event stream.
    InvokeStream,
    /// `Converse`: a Converse body (`messages` of `{"text": …}` blocks, `system` blocks,
    /// `inferenceConfig`), built by the OpenAI front end.
    Converse,
    /// `ConverseStream`: the same body, answered as an event stream.
    ConverseStream,
}

impl EndpointKind {
    /// Whether the body is a Converse body rather than an Anthropic Messages one.
    pub fn is_converse(self) -> bool {
        matches!(self, EndpointKind::Converse | EndpointKind::ConverseStream)
    }
}

/// What a request transformer does with a Converse body (`/v1/chat/completions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConverse {
    /// It edits Converse bodies too (it looks at `RequestContext::endpoint`).
    Run,
    /// It has nothing to do on a Converse body (it edits Anthropic-only fields), so it is
    /// skipped there; configuring it on a profile is a start-up warning.
    Skip,
    /// It only knows Anthropic Messages bodies: a Converse request on its profile is refused
    /// (400) rather than sent without it. The default, so a transformer written before
    /// Converse existed is never skipped silently.
    Refuse,
}

/// What a transformer may know about the request it is working on.
pub struct RequestContext<'a> {
    pub profile: &'a str,
    pub model_id: &'a str,
    pub endpoint: EndpointKind,
    /// The client's request headers (read-only).
    pub headers: &'a http::HeaderMap,
    /// The client sent the legacy text-completion form (`{"prompt": …}`), which
    /// `legacy_prompt` converted to a Messages body before any configured transformer ran.
    pub legacy_form: bool,
}

/// A transformer's refusal or failure, with a message for the client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

/// Edits the outgoing request body.
pub trait RequestTransformer: Send + Sync {
    fn name(&self) -> &str;
    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError>;
    /// What it does with a Converse body; see [`OnConverse`].
    fn on_converse(&self) -> OnConverse {
        OnConverse::Refuse
    }
}

/// What to do with a streamed event after a response transformer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Keep,
    Drop,
}

/// Edits Bedrock's answer: a whole JSON body, or each event of a stream.
pub trait ResponseTransformer: Send + Sync {
    fn name(&self) -> &str;
    fn transform_response(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), TransformError>;
    /// Edit one stream event. The default keeps it unchanged.
    fn transform_event(
        &self,
        _ctx: &RequestContext<'_>,
        _event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        Ok(EventAction::Keep)
    }
}

/// Where a step of a chain comes from (shown by `GET /profiles` and `--check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `legacy_prompt` (always first) or `anthropic_defaults` (always last).
    Builtin,
    /// The default chain: top-level `request_transformers` / `response_transformers`.
    Default,
    /// The profile's own chain: `profiles.NAME.request_transformers` / `…response_transformers`.
    Profile,
    /// Added by an embedding program with `ProxyBuilder::request_transformer` /
    /// `response_transformer`.
    Code,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Builtin => "built-in",
            Origin::Default => "default",
            Origin::Profile => "profile",
            Origin::Code => "code",
        }
    }
}

/// One transformer in a chain, with where it came from and the options it was built with.
pub struct Step<T: ?Sized> {
    pub transformer: Arc<T>,
    pub origin: Origin,
    /// The options as written in the configuration (`None` for built-ins and code).
    pub options: Option<Options>,
}

impl<T: ?Sized> Clone for Step<T> {
    fn clone(&self) -> Self {
        Step {
            transformer: self.transformer.clone(),
            origin: self.origin,
            options: self.options.clone(),
        }
    }
}

impl<T: ?Sized> Step<T> {
    pub fn new(transformer: Arc<T>, origin: Origin) -> Self {
        Step {
            transformer,
            origin,
            options: None,
        }
    }
}

/// Request transformers, run in order.
#[derive(Clone, Default)]
pub struct RequestChain(Vec<Step<dyn RequestTransformer>>);

/// Response transformers, run in order.
#[derive(Clone, Default)]
pub struct ResponseChain(Vec<Step<dyn ResponseTransformer>>);

impl RequestChain {
    /// A chain of transformers added from code.
    pub fn new(items: Vec<Arc<dyn RequestTransformer>>) -> Self {
        RequestChain(
            items
                .into_iter()
                .map(|t| Step::new(t, Origin::Code))
                .collect(),
        )
    }

    /// `legacy_prompt`, the configured `steps`, `anthropic_defaults`: the built-ins frame every
    /// configured chain, so configuration cannot leave a body Bedrock cannot read.
    pub fn framed(steps: Vec<Step<dyn RequestTransformer>>) -> Self {
        let mut chain = vec![Step::new(
            Arc::new(LegacyPrompt) as Arc<dyn RequestTransformer>,
            Origin::Builtin,
        )];
        chain.extend(steps);
        chain.push(Step::new(
            Arc::new(AnthropicDefaults::default()),
            Origin::Builtin,
        ));
        RequestChain(chain)
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|s| s.transformer.name().to_string())
            .collect()
    }

    pub fn steps(&self) -> &[Step<dyn RequestTransformer>] {
        &self.0
    }

    /// This chain followed by `more` (added from code).
    pub fn then(mut self, more: Vec<Arc<dyn RequestTransformer>>) -> Self {
        self.0
            .extend(more.into_iter().map(|t| Step::new(t, Origin::Code)));
        self
    }

    /// The steps that refuse Converse bodies (built-ins excepted: they frame Messages bodies
    /// only and are skipped there).
    pub fn refusing_converse(&self) -> Vec<&str> {
        self.configured_where(|t| t.on_converse() == OnConverse::Refuse)
    }

    /// The steps of the chain that configuration or code added (the built-ins left out).
    pub fn configured(&self) -> Vec<&str> {
        self.configured_where(|_| true)
    }

    fn configured_where(&self, keep: impl Fn(&dyn RequestTransformer) -> bool) -> Vec<&str> {
        self.0
            .iter()
            .filter(|s| s.origin != Origin::Builtin && keep(s.transformer.as_ref()))
            .map(|s| s.transformer.name())
            .collect()
    }

    /// Run the chain on `body`. On a Converse body only the steps that handle Converse run;
    /// if any configured step refuses Converse, nothing runs and the request is refused.
    pub fn apply(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), ProxyError> {
        let converse = ctx.endpoint.is_converse();
        if converse {
            let refusing = self.refusing_converse();
            if !refusing.is_empty() {
                return Err(ProxyError::InvalidRequest(format!(
                    "profile '{}' runs request transformers ({}) that only edit Anthropic Messages bodies, so they cannot run on this Converse request; it is refused rather than sent without them. Use a profile without them for OpenAI clients",
                    ctx.profile,
                    refusing.join(", ")
                )));
            }
        }
        for step in &self.0 {
            let t = &step.transformer;
            if converse && t.on_converse() != OnConverse::Run {
                continue;
            }
            t.transform(ctx, body)
                .map_err(|e| ProxyError::Transformer {
                    name: t.name().to_string(),
                    message: e.0,
                    on_response: false,
                })?;
        }
        Ok(())
    }
}

impl ResponseChain {
    /// A chain of transformers added from code.
    pub fn new(items: Vec<Arc<dyn ResponseTransformer>>) -> Self {
        ResponseChain(
            items
                .into_iter()
                .map(|t| Step::new(t, Origin::Code))
                .collect(),
        )
    }

    /// A chain of configured steps.
    pub fn from_steps(steps: Vec<Step<dyn ResponseTransformer>>) -> Self {
        ResponseChain(steps)
    }

    /// This chain followed by `more` (added from code).
    pub fn then(mut self, more: Vec<Arc<dyn ResponseTransformer>>) -> Self {
        self.0
            .extend(more.into_iter().map(|t| Step::new(t, Origin::Code)));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|s| s.transformer.name().to_string())
            .collect()
    }

    pub fn steps(&self) -> &[Step<dyn ResponseTransformer>] {
        &self.0
    }

    fn failed(t: &Arc<dyn ResponseTransformer>, e: TransformError) -> ProxyError {
        ProxyError::Transformer {
            name: t.name().to_string(),
            message: e.0,
            on_response: true,
        }
    }

    pub fn apply_response(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), ProxyError> {
        for step in &self.0 {
            let t = &step.transformer;
            t.transform_response(ctx, body)
                .map_err(|e| Self::failed(t, e))?;
        }
        Ok(())
    }

    pub fn apply_event(
        &self,
        ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, ProxyError> {
        for step in &self.0 {
            let t = &step.transformer;
            if t.transform_event(ctx, event)
                .map_err(|e| Self::failed(t, e))?
                == EventAction::Drop
            {
                return Ok(EventAction::Drop);
            }
        }
        Ok(EventAction::Keep)
    }
}

impl fmt::Debug for RequestChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl fmt::Debug for ResponseChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// A `RequestContext` for unit tests of transformers.
#[cfg(test)]
pub(crate) fn test_context<'a>(
    headers: &'a http::HeaderMap,
    endpoint: EndpointKind,
    legacy_form: bool,
) -> RequestContext<'a> {
    RequestContext {
        profile: "test",
        model_id: "anthropic.claude-test",
        endpoint,
        headers,
        legacy_form,
    }
}

/// The body of a JSON object literal, for unit tests.
#[cfg(test)]
pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Build the built-in request transformer `name` with `options` and run it on an
/// `InvokeModel` `body`, for unit tests.
#[cfg(test)]
pub(crate) fn run_builtin(name: &str, options: Value, body: Value) -> Result<Value, String> {
    run_builtin_on(EndpointKind::Invoke, name, options, body)
}

/// Build the built-in request transformer `name` with `options` and run it on `body` of an
/// `endpoint` call, for unit tests.
#[cfg(test)]
pub(crate) fn run_builtin_on(
    endpoint: EndpointKind,
    name: &str,
    options: Value,
    body: Value,
) -> Result<Value, String> {
    let t = Registry::builtin()
        .build_request(name, obj(options))
        .map_err(|e| e.to_string())?;
    let headers = http::HeaderMap::new();
    let mut body = obj(body);
    t.transform(&test_context(&headers, endpoint, false), &mut body)
        .map_err(|e| e.to_string())?;
    Ok(Value::Object(body))
}
