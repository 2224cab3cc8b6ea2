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

    pub fn apply(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), ProxyError> {
        for step in &self.0 {
            let t = &step.transformer;
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

/// Build the built-in request transformer `name` with `options` and run it on `body`, for
/// unit tests.
#[cfg(test)]
pub(crate) fn run_builtin(name: &str, options: Value, body: Value) -> Result<Value, String> {
    let t = Registry::builtin()
        .build_request(name, obj(options))
        .map_err(|e| e.to_string())?;
    let headers = http::HeaderMap::new();
    let mut body = obj(body);
    t.transform(
        &test_context(&headers, EndpointKind::Invoke, false),
        &mut body,
    )
    .map_err(|e| e.to_string())?;
    Ok(Value::Object(body))
}
