//! What Bedrock refuses in a Claude InvokeModel body beyond its schema, and the newer Claude
//! models of the catalogue.
//!
//! - `anthropic_beta` must be a list of the betas Bedrock takes ([`BEDROCK_BETAS`]); any other
//!   is a 400 `invalid beta flag`.
//! - A beta-gated field without its beta ([`GATED`]) and an extraneous key ([`EXTRANEOUS`])
//!   are 400s.
//! - A `thinking` block sent back in an assistant turn must carry the signature the fake
//!   issued for its text ([`thinking_signature`]), byte for byte.
//! - A profile-only model (no `ON_DEMAND`) called by its bare id is the on-demand 400.
//! - `thinking` types are not judged (Bedrock adds new ones, e.g. `adaptive`).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::runtime::malformed;

/// The betas the fake's Bedrock takes in `anthropic_beta`.
pub const BEDROCK_BETAS: &[&str] = &[
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "dev-full-thinking-2025-05-14",
    "effort-2025-11-24",
    "fine-grained-tool-streaming-2025-05-14",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "thinking-token-count-2026-05-13",
    "token-efficient-tools-2025-02-19",
    "tool-examples-2025-10-29",
    "tool-search-tool-2025-10-19",
];

/// Body fields accepted only with a beta: (field, beta).
pub const GATED: &[(&str, &str)] = &[
    ("context_management", "context-management-2025-06-27"),
    ("output_config", "effort-2025-11-24"),
];

/// Keys of the Anthropic API that InvokeModel refuses.
pub const EXTRANEOUS: &[&str] = &[
    "model",
    "stream",
    "service_tier",
    "container",
    "mcp_servers",
];

/// Claude models added to the catalogue: (id, name, profile only).
pub(crate) const NEWER_CLAUDE: &[(&str, &str, bool)] = &[
    (
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "Claude Opus 4.1",
        true,
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "Claude Sonnet 4.5",
        true,
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "Claude Haiku 4.5",
        true,
    ),
    ("anthropic.claude-opus-4-6-v1", "Claude Opus 4.6", true),
    ("anthropic.claude-opus-5-5", "Claude Opus 5.5", true),
];

/// The signature the fake gives a thinking block with this text (and wants back unchanged).
pub fn thinking_signature(thinking: &str) -> String {
    let digest = Sha256::digest(format!("fake-thinking:{thinking}").as_bytes());
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The on-demand refusal Bedrock answers for a profile-only model's bare id.
pub fn on_demand_refusal(model_id: &str) -> String {
    format!("Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
}

/// Check the Claude-specific rules of an InvokeModel body (see the module docs).
pub(crate) fn check(obj: &serde_json::Map<String, Value>) -> Result<(), String> {
    for key in EXTRANEOUS {
        if obj.contains_key(*key) {
            return Err(malformed(&format!(
                "#: extraneous key [{key}] is not permitted"
            )));
        }
    }
    let betas: Vec<&str> = match obj.get("anthropic_beta") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(b) if BEDROCK_BETAS.contains(&b) => out.push(b),
                    _ => return Err("invalid beta flag".to_string()),
                }
            }
            out
        }
        Some(_) => return Err("invalid beta flag".to_string()),
    };
    for (field, beta) in GATED {
        if obj.contains_key(*field) && !betas.contains(beta) {
            return Err(format!("{field}: Extra inputs are not permitted"));
        }
    }
    check_signatures(obj.get("messages"))
}

/// Every `thinking` block of an assistant turn carries the signature issued for its text.
fn check_signatures(messages: Option<&Value>) -> Result<(), String> {
    let Some(Value::Array(messages)) = messages else {
        return Ok(());
    };
    for (i, m) in messages.iter().enumerate() {
        let Some(Value::Array(blocks)) = m.get("content") else {
            continue;
        };
        for (j, b) in blocks.iter().enumerate() {
            if b["type"] != "thinking" {
                continue;
            }
            let text = b["thinking"].as_str().unwrap_or_default();
            if b["signature"].as_str() != Some(thinking_signature(text).as_str()) {
                return Err(format!(
                    "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Result<(), String> {
        check(v.as_object().unwrap())
    }

    #[test]
    fn bedrock_refusals() {
        assert_eq!(
            run(json!({"anthropic_beta": ["claude-code-20250219"]})).unwrap_err(),
            "invalid beta flag"
        );
        assert!(run(json!({"anthropic_beta": ["interleaved-thinking-2025-05-14"]})).is_ok());
        assert!(run(json!({"context_management": {}}))
            .unwrap_err()
            .contains("context_management"));
        assert!(run(
            json!({"context_management": {}, "anthropic_beta": ["context-management-2025-06-27"]})
        )
        .is_ok());
        assert!(run(json!({"output_config": {"effort": "high"}}))
            .unwrap_err()
            .contains("output_config"));
        assert!(run(json!({"service_tier": "auto"}))
            .unwrap_err()
            .contains("extraneous key [service_tier]"));
        let sig = thinking_signature("hmm");
        let turn = |s: &str| json!({"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": s}]}]});
        assert!(run(turn(&sig)).is_ok());
        assert!(run(turn(&format!("{sig} ")))
            .unwrap_err()
            .contains("Invalid `signature`"));
    }
}
