//! OpenAPI descriptions of the OpenAI-compatible bodies (with examples that work when tried).
//! The handlers read the bodies with the typed converters in `convert::`; these describe
//! the fields a client sends and gets.

use poem_openapi::types::Example;
use poem_openapi::Object;
use serde_json::{json, Value};

/// An OpenAI Chat Completions request, answered through Bedrock Converse.
#[derive(Object)]
#[oai(rename = "ChatCompletionRequest", example, skip_serializing_if_is_none)]
pub struct ChatRequestDoc {
    /// A profile name (`us`, `eu`, …), an alias, or a Bedrock model id / inference-profile id
    /// / ARN (called from the region of `?profile=` or the default profile).
    pub model: String,
    /// `system`, `developer`, `user` (text or `image_url` parts with `data:` URLs),
    /// `assistant` (with `tool_calls`) and `tool` messages.
    pub messages: Vec<Value>,
    pub max_tokens: Option<u32>,
    /// Wins over `max_tokens`.
    pub max_completion_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// A string or a list of strings.
    pub stop: Option<Value>,
    /// Server-Sent Events of `chat.completion.chunk`, ending with `data: [DONE]`.
    pub stream: Option<bool>,
    /// `{"include_usage": true}` adds a final chunk with `usage` and `choices: []`.
    pub stream_options: Option<Value>,
    /// `{"type":"function","function":{"name","description","parameters"}}` each.
    pub tools: Option<Vec<Value>>,
    /// `auto`, `required`, `none` or `{"type":"function","function":{"name"}}`.
    pub tool_choice: Option<Value>,
    /// `low`, `medium` or `high`: Claude extended thinking with a budget of 1,024 / 4,096 /
    /// 16,384 tokens; the thinking text comes back as `reasoning_content`.
    pub reasoning_effort: Option<String>,
    /// `{"type":"json_schema","json_schema":{"name","schema"}}` (a forced tool) or
    /// `{"type":"json_object"}`.
    pub response_format: Option<Value>,
    /// Logged only.
    pub user: Option<String>,
}

impl Example for ChatRequestDoc {
    fn example() -> Self {
        ChatRequestDoc {
            model: "us".into(),
            messages: vec![json!({"role": "user", "content": "Say hello in one word."})],
            max_tokens: Some(64),
            max_completion_tokens: None,
            temperature: None,
            top_p: None,
            stop: None,
            stream: None,
            stream_options: None,
            tools: None,
            tool_choice: None,
            reasoning_effort: None,
            response_format: None,
            user: None,
        }
    }
}

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

/// An OpenAI embeddings request, answered by Titan Text Embeddings v2 or Cohere Embed.
#[derive(Object)]
#[oai(rename = "EmbeddingsRequest", example, skip_serializing_if_is_none)]
pub struct EmbeddingsRequestDoc {
    /// `amazon.titan-embed-text-v2:0`, `cohere.embed-english-v3`, … or an alias or profile
    /// naming one (e.g. `[routing.aliases] "text-embedding-3-small" =
    /// "amazon.titan-embed-text-v2:0"` for tools that insist on OpenAI's names).
    pub model: String,
    /// A string or a list of strings.
    pub input: Value,
    /// Titan v2: 256, 512 or 1024.
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` (little-endian f32).
    pub encoding_format: Option<String>,
    pub user: Option<String>,
}

impl Example for EmbeddingsRequestDoc {
    fn example() -> Self {
        EmbeddingsRequestDoc {
            model: "amazon.titan-embed-text-v2:0".into(),
            input: json!(["Hello", "world"]),
            dimensions: Some(256),
            encoding_format: None,
            user: None,
        }
    }
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
