//! `anthropic_defaults`: makes a Messages body acceptable to Bedrock's InvokeModel.
//!
//! Adds `anthropic_version` when absent, removes `model` and `stream` (Bedrock rejects them as
//! extraneous keys: the model is in the URL, streaming is the endpoint), and fills `max_tokens`
//! when the client sent none.

use serde_json::{Map, Value};

use super::{OnConverse, RequestContext, RequestTransformer, TransformError};

/// The `anthropic_version` Bedrock requires for Claude.
pub const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// `max_tokens` sent when the client sent none.
pub const DEFAULT_MAX_TOKENS: u64 = 1024;

#[derive(Debug, Clone)]
pub struct AnthropicDefaults {
    pub anthropic_version: String,
    pub default_max_tokens: u64,
}

impl Default for AnthropicDefaults {
    fn default() -> Self {
        AnthropicDefaults {
            anthropic_version: BEDROCK_ANTHROPIC_VERSION.to_string(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
        }
    }
}

impl RequestTransformer for AnthropicDefaults {
    fn name(&self) -> &str {
        "anthropic_defaults"
    }

    /// `anthropic_version` belongs to InvokeModel bodies only.
    fn on_converse(&self) -> OnConverse {
        OnConverse::Skip
    }

    fn transform(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        if !body.contains_key("anthropic_version") {
            body.insert(
                "anthropic_version".into(),
                Value::String(self.anthropic_version.clone()),
            );
        }
        body.remove("model");
        body.remove("stream");
        if !body.contains_key("max_tokens") {
            body.insert("max_tokens".into(), Value::from(self.default_max_tokens));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::EndpointKind;
    use serde_json::json;

    #[test]
    fn adds_version_strips_model_and_stream() {
        let headers = http::HeaderMap::new();
        let ctx = crate::transform::test_context(&headers, EndpointKind::Invoke, false);
        let mut body = json!({"model":"claude","stream":true,"messages":[]})
            .as_object()
            .cloned()
            .unwrap();
        AnthropicDefaults::default()
            .transform(&ctx, &mut body)
            .unwrap();
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(body["max_tokens"], 1024);
        assert!(!body.contains_key("model") && !body.contains_key("stream"));

        let mut kept = json!({"anthropic_version":"x","max_tokens":5})
            .as_object()
            .cloned()
            .unwrap();
        AnthropicDefaults::default()
            .transform(&ctx, &mut kept)
            .unwrap();
        assert_eq!(kept["anthropic_version"], "x");
        assert_eq!(kept["max_tokens"], 5);
    }
}
