//! OpenAI Chat Completions ⇄ Bedrock Converse / ConverseStream conversion.
//!
//! Pure functions only: no HTTP, no AWS SDK. The caller parses the body with
//! [`ChatRequest::parse`], converts it with [`to_converse`], sends
//! [`ConverseRequest::body`] (plus `modelId`) to Bedrock and converts the
//! answer back with [`from_converse`] or, for streams, a [`ChunkStream`].
//!
//! Decisions where OpenAI and Converse differ:
//! - `system` / `developer` messages are hoisted, in order, into Converse `system`.
//! - Consecutive turns of the same Converse role are merged (content lists
//!   concatenated); consecutive `tool` messages therefore form ONE user turn.
//! - Empty / whitespace-only text parts are dropped (Converse rejects blank
//!   text); a message left with no blocks is skipped entirely.
//! - If the conversation ends with an assistant turn (prefill), trailing
//!   whitespace of its last text block is trimmed (Claude rejects it).
//! - A conversation that starts with an assistant turn is passed through
//!   unchanged; Bedrock answers 400 for it.
//! - `tool_calls[].function.arguments` must be a JSON object (string-encoded
//!   or, leniently, a raw object); `""` counts as `{}`; anything else is 400.
//! - An empty `tool` message content becomes an empty `toolResult.content`.
//! - `reasoning_content` on assistant history messages is ignored (no signature).
//! - `tool_choice: "none"` drops the tools (Converse has no "none") unless the
//!   history contains tool blocks; then tools are kept with the default (auto).
//! - toolUse/toolResult blocks in history without `tools` in the request get a
//!   synthesized `toolConfig` (one tool per name seen, `inputSchema {"type":"object"}`),
//!   because Converse requires a toolConfig whenever such blocks are present.
//! - `tool_choice` naming a function that is not in `tools` is 400.
//! - `reasoning_effort`: minimal→low, low/medium/high → Claude thinking budget,
//!   `none` → no thinking; other values 400. Non-Claude models: 400
//!   (`none` accepted). With thinking, temperature/top_p are dropped and
//!   maxTokens is raised to budget + default_max_tokens when it is ≤ budget.
//! - Thinking is skipped (not an error) when the request continues a tool loop
//!   (last turn carries toolResults answering a toolUse turn), because the
//!   client cannot send back the signed thinking block Claude would require.
//! - Thinking together with a forced tool (`tool_choice` required/named or
//!   `response_format: json_schema`) is 400: Claude rejects the combination.
//! - `response_format: json_object` appends a system line asking for a bare JSON object.
//! - `response_format: json_schema` becomes a forced tool named after the
//!   schema; its input is returned as the message `content` (finish "stop").
//!   Combined with the request's own `tools` it is 400.
//! - `n` > 1, `logprobs: true`, `top_logprobs` > 0, audio output → 400.
//! - Unknown parameters (e.g. `seed`, `frequency_penalty`) are ignored and
//!   listed by [`ChatRequest::unknown_parameters`].
//! - `cache_point` inserts `{"cachePoint":{"type":"default"}}` after the system
//!   blocks and after the request's tools (only where those are non-empty).
//! - Usage: `prompt_tokens` = input + cacheRead + cacheWrite (OpenAI counts
//!   cached tokens as prompt tokens), `cached_tokens` = cacheRead.
//! - Malformed Bedrock responses give a [`ConvertError`] with status 502.
//! - `tool_choice: "auto"` is sent as `{"auto":{}}` only to Claude; for other
//!   models it is omitted (auto is Converse's default; some models reject toolChoice).
//! - Tool names used in the history but missing from `tools` are appended as
//!   minimal tool specs, so Bedrock never sees an undeclared toolUse.
//! - Image format comes from the bytes' magic number when recognisable (clients
//!   mislabel JPEGs as PNG), else from the MIME type; unpadded base64 is accepted
//!   and re-encoded canonically.
//! - `max_tokens`/`max_completion_tokens` of 0 and an empty `messages` are 400.
//! - Message `name`, tool `strict` and `json_schema.strict` are ignored.
//! - Non-streaming with a forced JSON tool, text around the tool call is dropped;
//!   streaming passes text deltas through (Claude emits none under a forced tool).
//! - `include_usage` is reported as sent, whether or not `stream` is true.

mod messages;
mod request;
mod response;
mod stream;
mod types;

#[cfg(test)]
mod tests_options;
#[cfg(test)]
mod tests_request;
#[cfg(test)]
mod tests_response;
#[cfg(test)]
mod tests_stream;

pub use request::to_converse;
pub use response::{
    finish_reason, from_converse, usage_of, AssistantMessage, ChatCompletion, ChatUsage, Choice,
    FunctionOut, PromptTokensDetails, ToolCallOut, Usage,
};
pub use stream::{error_chunk, ChunkStream, DONE};
pub use types::{
    ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDef, ImageUrl, JsonSchemaFormat,
    MessageContent, NamedFunction, ResponseFormat, Stop, StreamOptions, ToolCall, ToolChoice,
    ToolDef,
};

/// A client-side problem (status 400) or a malformed Bedrock answer (502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConvertError {
    /// HTTP status to answer with.
    pub status: u16,
    /// Human-readable message, safe to show to the client.
    pub message: String,
    /// The offending request parameter, OpenAI style (`messages[2].content[0].image_url`).
    pub param: Option<String>,
    /// OpenAI-style error code (`unsupported_parameter`, `invalid_value`, …).
    pub code: Option<&'static str>,
}

impl ConvertError {
    /// A 400 with a message, an optional param and an optional code.
    pub fn bad_request(
        message: impl Into<String>,
        param: Option<String>,
        code: Option<&'static str>,
    ) -> Self {
        Self {
            status: 400,
            message: message.into(),
            param,
            code,
        }
    }

    /// 400 `invalid_value` for `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request(message, Some(param.into()), Some("invalid_value"))
    }

    /// 400 `unsupported_parameter` for `param`.
    pub fn unsupported(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request(message, Some(param.into()), Some("unsupported_parameter"))
    }

    /// 502: Bedrock answered something this module cannot read.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self {
            status: 502,
            message: message.into(),
            param: None,
            code: Some("invalid_upstream_response"),
        }
    }

    /// 400 for a body that serde could not read (bad JSON or wrong types).
    pub fn from_json(err: &serde_json::Error) -> Self {
        let prefix = match err.classify() {
            serde_json::error::Category::Data => "Invalid request body",
            _ => "Could not parse the JSON body of the request",
        };
        Self::bad_request(format!("{prefix}: {err}"), None, None)
    }
}

/// Knobs the caller derives from config and the resolved Bedrock model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// The target is an Anthropic Claude model (enables `reasoning_effort`).
    pub model_is_claude: bool,
    /// Insert `cachePoint` blocks after the system prompt and after the tools.
    pub cache_point: bool,
    /// Thinking budgets for `reasoning_effort` low / medium / high.
    pub reasoning_budgets: (u32, u32, u32),
    /// `maxTokens` when the client sent neither `max_tokens` nor `max_completion_tokens`.
    pub default_max_tokens: u32,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            model_is_claude: false,
            cache_point: false,
            reasoning_budgets: (1024, 4096, 16384),
            default_max_tokens: 4096,
        }
    }
}

/// Result of [`to_converse`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseRequest {
    /// The Converse / ConverseStream JSON body, without `modelId`.
    pub body: serde_json::Value,
    /// The client asked for `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage` was true.
    pub include_usage: bool,
    /// Set when `response_format: json_schema` became this forced tool.
    pub forced_json_tool: Option<String>,
}
