//! The plugin surface: request and response transformers, and the chains that run them.
//!
//! A `RequestTransformer` edits the JSON body on its way to Bedrock; a `ResponseTransformer`
//! edits a whole JSON answer, or each streamed event (and may drop one). Both are synchronous,
//! object-safe and `Send + Sync`: they work on data already in memory, so an `async` trait would
//! only add boxing on the hot path. Built-ins are ordinary implementations of these traits.

mod anthropic_defaults;
mod legacy_prompt;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use anthropic_defaults::AnthropicDefaults;
pub use legacy_prompt::LegacyPrompt;

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

/// Request transformers, run in order.
#[derive(Clone, Default)]
pub struct RequestChain(Vec<Arc<dyn RequestTransformer>>);

/// Response transformers, run in order.
#[derive(Clone, Default)]
pub struct ResponseChain(Vec<Arc<dyn ResponseTransformer>>);

impl RequestChain {
    pub fn new(items: Vec<Arc<dyn RequestTransformer>>) -> Self {
        RequestChain(items)
    }

    /// The chain every profile gets unless configured otherwise.
    pub fn builtin_default() -> Self {
        RequestChain(vec![
            Arc::new(LegacyPrompt),
            Arc::new(AnthropicDefaults::default()),
        ])
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|t| t.name().to_string()).collect()
    }

    /// This chain followed by `more`.
    pub fn then(mut self, more: Vec<Arc<dyn RequestTransformer>>) -> Self {
        self.0.extend(more);
        self
    }

    pub fn apply(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), ProxyError> {
        for t in &self.0 {
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
    pub fn new(items: Vec<Arc<dyn ResponseTransformer>>) -> Self {
        ResponseChain(items)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|t| t.name().to_string()).collect()
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
        for t in &self.0 {
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
        for t in &self.0 {
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
