//! OpenAPI descriptions of the OpenAI-compatible bodies (with examples that work when tried).
//! The handlers read the bodies with the typed converters in `convert::`; these describe
//! the fields a client sends and gets.

use poem_openapi::Object;
use serde_json::Value;

/// An OpenAI `chat.completion`.
#[derive(Object)]
#[oai(rename = "ChatCompletion")]
pub struct ChatCompletionDoc {
    pub id: String,
    /// `chat.completion`.
    pub object: String,
    pub created: u64,
    /// The `model` the client sent.
    pub model: String,
    /// One choice: `{"index":0,"message":{"role":"assistant","content",
    /// "tool_calls"?,"reasoning_content"?},"finish_reason"}`.
    pub choices: Vec<Value>,
    /// `prompt_tokens` (cached tokens included), `completion_tokens`, `total_tokens`,
    /// `prompt_tokens_details.cached_tokens`.
    pub usage: Value,
}

/// An OpenAI embeddings answer.
#[derive(Object)]
#[oai(rename = "EmbeddingsResponse")]
pub struct EmbeddingsResponseDoc {
    /// `list`.
    pub object: String,
    /// `{"object":"embedding","index":i,"embedding":[…] | "<base64>"}` per input, in order.
    pub data: Vec<Value>,
    pub model: String,
    /// `prompt_tokens`, `total_tokens`.
    pub usage: Value,
}

/// One Server-Sent Event of a streamed chat completion, as an SSE client parses it.
#[derive(Object)]
#[oai(rename = "ChatCompletionStreamEvent")]
pub struct ChatStreamEventDoc {
    /// `message` (OpenAI's streams name no event).
    pub event: Option<String>,
    /// A `chat.completion.chunk` as JSON, `[DONE]` at the end, or `{"error":…}` when the
    /// stream failed after it began.
    pub data: String,
}
