//! Types that exist only to document bodies in OpenAPI (with examples that work when tried).
//! The proxy itself passes bodies through as JSON; these describe the common fields.

use poem_openapi::types::Example;
use poem_openapi::Object;
use serde_json::Value;

/// An Anthropic Messages request (`messages`), or a legacy text completion (`prompt`).
/// Any other field Bedrock accepts (`tools`, `tool_choice`, `thinking`, `anthropic_beta`,
/// `metadata`, image blocks, …) passes through unchanged.
#[derive(Object)]
#[oai(rename = "InvokeRequest", example, skip_serializing_if_is_none)]
pub struct InvokeRequestDoc {
    /// Conversation turns: `{"role": "user"|"assistant", "content": string | content blocks}`.
    pub messages: Option<Vec<Value>>,
    /// Maximum tokens to generate (default 1024 when absent).
    pub max_tokens: Option<u32>,
    /// System prompt: a string or an array of text blocks.
    pub system: Option<Value>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub stop_sequences: Option<Vec<String>>,
    /// Added as `bedrock-2023-05-31` when absent.
    pub anthropic_version: Option<String>,
    /// Legacy form: a plain prompt or a `\n\nHuman: …\n\nAssistant:` transcript.
    pub prompt: Option<String>,
    /// Legacy form: becomes `max_tokens`.
    pub max_tokens_to_sample: Option<u32>,
}

impl Example for InvokeRequestDoc {
    fn example() -> Self {
        InvokeRequestDoc {
            messages: Some(vec![
                serde_json::json!({"role": "user", "content": "Say hello in one word."}),
            ]),
            max_tokens: Some(64),
            system: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop_sequences: None,
            anthropic_version: None,
            prompt: None,
            max_tokens_to_sample: None,
        }
    }
}

/// An Anthropic Messages response as Bedrock returns it.
#[derive(Object)]
#[oai(rename = "InvokeResponse")]
pub struct InvokeResponseDoc {
    pub id: String,
    #[oai(rename = "type")]
    pub kind: String,
    pub role: String,
    #[oai(nullable)]
    pub model: Option<String>,
    /// Content blocks, e.g. `{"type":"text","text":"Hello"}`.
    pub content: Vec<Value>,
    #[oai(nullable)]
    pub stop_reason: Option<String>,
    #[oai(nullable)]
    pub stop_sequence: Option<String>,
    /// `{"input_tokens": …, "output_tokens": …}`.
    pub usage: Value,
}

/// One Server-Sent Event of `/invoke_stream`, as an SSE client parses it.
#[derive(Object)]
#[oai(rename = "StreamEvent")]
pub struct StreamEventDoc {
    /// The model event's `type` (`message_start`, `content_block_delta`, …, `message_stop`),
    /// `completion` for legacy text-completion chunks, or `error` for the final error event.
    pub event: String,
    /// The event's JSON, e.g. `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
    /// or `{"type":"error","error":{"type":…,"message":…}}`.
    pub data: String,
}
