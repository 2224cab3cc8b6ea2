//! Converse response → OpenAI `chat.completion`.

use serde::Serialize;
use serde_json::Value;

use super::ConvertError;

pub use crate::aws::Usage;

/// OpenAI usage: `prompt_tokens` includes cache reads and writes,
/// `cached_tokens` = cache reads, `total_tokens` = prompt + completion.
pub fn to_openai(usage: &Usage) -> ChatUsage {
    let prompt = usage.input + usage.cache_read + usage.cache_write;
    ChatUsage {
        prompt_tokens: prompt,
        completion_tokens: usage.output,
        total_tokens: prompt + usage.output,
        prompt_tokens_details: PromptTokensDetails {
            cached_tokens: usage.cache_read,
        },
    }
}

/// Reads a Converse `usage` object (`inputTokens`, `outputTokens`,
/// `cacheReadInputTokens`, `cacheWriteInputTokens`); missing fields count as 0.
pub fn usage_of(converse_usage: &Value) -> Usage {
    let field = |k: &str| converse_usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input: field("inputTokens"),
        output: field("outputTokens"),
        cache_read: field("cacheReadInputTokens"),
        cache_write: field("cacheWriteInputTokens"),
    }
}

/// Maps a Converse `stopReason` to an OpenAI `finish_reason`.
/// `tool_use` becomes `stop` when the tool was the forced `json_schema` tool.
pub fn finish_reason(stop_reason: &str, forced_json: bool) -> &'static str {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" if forced_json => "stop",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        _ => "stop",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletion {
    pub id: String,
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: ChatUsage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    pub finish_reason: &'static str,
    /// Always `null`.
    pub logprobs: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssistantMessage {
    pub role: &'static str,
    /// `null` only when the answer consists of tool calls alone.
    pub content: Option<String>,
    /// Always `null`.
    pub refusal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionOut,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionOut {
    pub name: String,
    /// Compact JSON of the tool input.
    pub arguments: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChatUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptTokensDetails,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Default)]
struct Collected {
    text: String,
    reasoning: String,
    tool_calls: Vec<ToolCallOut>,
    forced_json: Option<String>,
}

fn collect(content: &[Value], forced_json_tool: Option<&str>) -> Result<Collected, ConvertError> {
    let mut out = Collected::default();
    for block in content {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            out.text.push_str(text);
        } else if let Some(r) = block.get("reasoningContent") {
            let text = r.pointer("/reasoningText/text").and_then(Value::as_str);
            out.reasoning.push_str(text.unwrap_or_default());
        } else if let Some(tu) = block.get("toolUse") {
            let name = tu.get("name").and_then(Value::as_str).unwrap_or_default();
            let input = tu
                .get("input")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            let arguments = serde_json::to_string(&input)
                .map_err(|e| ConvertError::upstream(format!("Unserialisable tool input: {e}")))?;
            if forced_json_tool == Some(name) {
                out.forced_json = Some(arguments);
                continue;
            }
            let Some(id) = tu.get("toolUseId").and_then(Value::as_str) else {
                return Err(ConvertError::upstream(
                    "Bedrock toolUse block without toolUseId",
                ));
            };
            let function = FunctionOut {
                name: name.to_string(),
                arguments,
            };
            out.tool_calls.push(ToolCallOut {
                id: id.to_string(),
                kind: "function",
                function,
            });
        }
    }
    Ok(out)
}

/// Converts a Converse response body. `model` is echoed as sent by the client.
/// With `forced_json_tool`, that tool's input becomes the `content` string
/// (any text the model wrote around it is dropped) and finish_reason is `stop`.
pub fn from_converse(
    converse: &Value,
    model: &str,
    id: &str,
    created: u64,
    forced_json_tool: Option<&str>,
) -> Result<ChatCompletion, ConvertError> {
    let Some(content) = converse
        .pointer("/output/message/content")
        .and_then(Value::as_array)
    else {
        return Err(ConvertError::upstream(
            "Bedrock response has no output.message.content",
        ));
    };
    let got = collect(content, forced_json_tool)?;
    let stop = converse
        .get("stopReason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let finish = match &got.forced_json {
        Some(_) => "stop",
        None => finish_reason(stop, forced_json_tool.is_some()),
    };
    let content = match got.forced_json {
        Some(json) => Some(json),
        None if got.text.is_empty() && !got.tool_calls.is_empty() => None,
        None => Some(got.text),
    };
    let message = AssistantMessage {
        role: "assistant",
        content,
        refusal: None,
        tool_calls: (!got.tool_calls.is_empty()).then_some(got.tool_calls),
        reasoning_content: (!got.reasoning.is_empty()).then_some(got.reasoning),
    };
    let usage = usage_of(converse.get("usage").unwrap_or(&Value::Null));
    Ok(ChatCompletion {
        id: id.to_string(),
        object: "chat.completion",
        created,
        model: model.to_string(),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: finish,
            logprobs: None,
        }],
        usage: to_openai(&usage),
    })
}
