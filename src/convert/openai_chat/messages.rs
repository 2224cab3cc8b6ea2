//! OpenAI `messages` → Converse `system` + `messages`.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{json, Value};

use super::{ChatMessage, ContentPart, ConvertError, MessageContent, ToolCall};

/// Accepts base64 with or without `=` padding.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One Converse message: `role` is `user` or `assistant`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Turn {
    pub role: &'static str,
    pub content: Vec<Value>,
}

/// The converted conversation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Conversation {
    pub system: Vec<Value>,
    pub turns: Vec<Turn>,
}

impl Conversation {
    /// Converse `messages` JSON.
    pub fn messages_json(&self) -> Value {
        let msgs = self
            .turns
            .iter()
            .map(|t| json!({"role": t.role, "content": t.content}));
        Value::Array(msgs.collect())
    }

    fn blocks(&self, key: &'static str) -> impl Iterator<Item = &Value> {
        self.turns
            .iter()
            .flat_map(|t| t.content.iter())
            .filter_map(move |b| b.get(key))
    }

    /// Any toolUse or toolResult block in the history.
    pub fn has_tool_blocks(&self) -> bool {
        self.blocks("toolUse").next().is_some() || self.blocks("toolResult").next().is_some()
    }

    /// Distinct tool names used in the history, in order of appearance.
    pub fn tool_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self
            .blocks("toolUse")
            .filter_map(|u| u.get("name")?.as_str())
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The last turn answers the previous assistant turn's toolUse blocks.
    pub fn continues_tool_loop(&self) -> bool {
        let has = |t: &Turn, key: &str| t.content.iter().any(|b| b.get(key).is_some());
        match self.turns.as_slice() {
            [.., prev, last] => {
                prev.role == "assistant"
                    && has(prev, "toolUse")
                    && last.role == "user"
                    && has(last, "toolResult")
            }
            _ => false,
        }
    }
}

/// Converts the whole `messages` array.
pub(super) fn convert_messages(messages: &[ChatMessage]) -> Result<Conversation, ConvertError> {
    if messages.is_empty() {
        return Err(ConvertError::invalid(
            "messages",
            "`messages` must contain at least one message",
        ));
    }
    let mut system = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        match msg.role.as_str() {
            "system" | "developer" => system.extend(plain_text_blocks(i, msg.content.as_ref())?),
            "user" => push_turn(&mut turns, "user", user_blocks(i, msg.content.as_ref())?),
            "assistant" => push_turn(&mut turns, "assistant", assistant_blocks(i, msg)?),
            "tool" => push_turn(&mut turns, "user", vec![tool_result(i, msg)?]),
            other => {
                return Err(ConvertError::invalid(
                    format!("messages[{i}].role"),
                    format!(
                        "Unsupported message role '{other}'; expected system, developer, user, assistant or tool"
                    ),
                ));
            }
        }
    }
    trim_trailing_assistant(&mut turns);
    Ok(Conversation { system, turns })
}

/// Appends blocks, merging with the previous turn when the role repeats.
fn push_turn(turns: &mut Vec<Turn>, role: &'static str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => turns.push(Turn {
            role,
            content: blocks,
        }),
    }
}

/// Claude rejects a final (prefill) assistant text ending in whitespace.
fn trim_trailing_assistant(turns: &mut [Turn]) {
    let Some(last) = turns.last_mut().filter(|t| t.role == "assistant") else {
        return;
    };
    if let Some(Value::String(text)) = last.content.last_mut().and_then(|b| b.get_mut("text")) {
        let len = text.trim_end().len();
        text.truncate(len);
    }
}

fn text_block(text: &str) -> Option<Value> {
    (!text.trim().is_empty()).then(|| json!({ "text": text }))
}

fn part_param(i: usize, j: usize) -> String {
    format!("messages[{i}].content[{j}]")
}

fn unsupported_part(i: usize, j: usize, kind: &str) -> ConvertError {
    ConvertError::invalid(
        format!("{}.type", part_param(i, j)),
        format!("Unsupported content part type '{kind}' for this message"),
    )
}

fn part_text(i: usize, j: usize, part: &ContentPart) -> Result<&str, ConvertError> {
    let text = if part.kind == "refusal" {
        part.refusal.as_deref()
    } else {
        part.text.as_deref()
    };
    text.ok_or_else(|| {
        ConvertError::invalid(
            part_param(i, j),
            format!("Content part of type '{}' has no text", part.kind),
        )
    })
}

/// Text-only content (system, developer, assistant, tool); `refusal` parts count as text.
fn plain_text_blocks(
    i: usize,
    content: Option<&MessageContent>,
) -> Result<Vec<Value>, ConvertError> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(s)) => Ok(text_block(s).into_iter().collect()),
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                if part.kind != "text" && part.kind != "refusal" {
                    return Err(unsupported_part(i, j, &part.kind));
                }
                out.extend(text_block(part_text(i, j, part)?));
            }
            Ok(out)
        }
    }
}

fn user_blocks(i: usize, content: Option<&MessageContent>) -> Result<Vec<Value>, ConvertError> {
    let parts = match content {
        Some(MessageContent::Parts(parts)) => parts,
        other => return plain_text_blocks(i, other),
    };
    let mut out = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        match part.kind.as_str() {
            "text" => out.extend(text_block(part_text(i, j, part)?)),
            "image_url" => out.push(image_block(i, j, part)?),
            other => return Err(unsupported_part(i, j, other)),
        }
    }
    Ok(out)
}

fn image_block(i: usize, j: usize, part: &ContentPart) -> Result<Value, ConvertError> {
    let param = format!("{}.image_url", part_param(i, j));
    let Some(url) = part.image_url.as_ref().map(|u| u.url.trim()) else {
        return Err(ConvertError::invalid(
            param,
            "image_url part has no `image_url.url`",
        ));
    };
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(ConvertError::bad_request(
            "Remote image URLs are not fetched (config key `openai.fetch_image_urls` is not enabled); \
             send the image inline as a data:image/...;base64 URL",
            Some(param),
            Some("invalid_image_url"),
        ));
    }
    let (format, bytes) = parse_data_url(url)
        .map_err(|(msg, code)| ConvertError::bad_request(msg, Some(param), Some(code)))?;
    Ok(json!({"image": {"format": format, "source": {"bytes": bytes}}}))
}

/// Parses `data:image/<type>;base64,<data>` into (Converse format, canonical base64).
/// The format is taken from the bytes' magic number when recognisable, else from the MIME type.
pub(super) fn parse_data_url(url: &str) -> Result<(&'static str, String), (String, &'static str)> {
    let malformed = |m: &str| (m.to_string(), "invalid_image_url");
    let rest = url
        .strip_prefix("data:")
        .ok_or_else(|| malformed("Image URL must be a data: URL"))?;
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| malformed("Malformed data URL: missing ','"))?;
    let mut meta_parts = meta.split(';');
    let mime = meta_parts
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !meta_parts.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(malformed(
            "Image data URL must be base64-encoded (;base64,)",
        ));
    }
    let declared = match mime.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            let msg = format!("Unsupported image type '{other}'; supported: png, jpeg, gif, webp");
            return Err((msg, "invalid_image_format"));
        }
    };
    let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = LENIENT_B64
        .decode(cleaned.as_bytes())
        .map_err(|e| malformed(&format!("Image data is not valid base64: {e}")))?;
    if bytes.is_empty() {
        return Err(malformed("Image data is empty"));
    }
    let format = sniff_format(&bytes).unwrap_or(declared);
    Ok((format, STANDARD.encode(&bytes)))
}

fn sniff_format(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Some("png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("jpeg"),
        [b'G', b'I', b'F', b'8', ..] => Some("gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("webp"),
        _ => None,
    }
}

fn assistant_blocks(i: usize, msg: &ChatMessage) -> Result<Vec<Value>, ConvertError> {
    let mut out = plain_text_blocks(i, msg.content.as_ref())?;
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        out.push(tool_use_block(i, k, call)?);
    }
    Ok(out)
}

fn tool_use_block(i: usize, k: usize, call: &ToolCall) -> Result<Value, ConvertError> {
    let prefix = format!("messages[{i}].tool_calls[{k}]");
    if call.kind.as_deref().is_some_and(|t| t != "function") {
        return Err(ConvertError::invalid(
            format!("{prefix}.type"),
            "Only tool calls of type 'function' are supported",
        ));
    }
    let param = format!("{prefix}.function.arguments");
    let input = match &call.function.arguments {
        Value::Null => json!({}),
        Value::String(s) if s.trim().is_empty() => json!({}),
        Value::String(s) => serde_json::from_str(s).map_err(|e| {
            ConvertError::invalid(
                param.clone(),
                format!("Tool call arguments are not valid JSON: {e}"),
            )
        })?,
        other => other.clone(),
    };
    if !input.is_object() {
        return Err(ConvertError::invalid(
            param,
            "Tool call arguments must be a JSON object",
        ));
    }
    let name = &call.function.name;
    Ok(json!({"toolUse": {"toolUseId": call.id, "name": name, "input": input}}))
}

fn tool_result(i: usize, msg: &ChatMessage) -> Result<Value, ConvertError> {
    let Some(id) = msg.tool_call_id.as_deref().filter(|s| !s.is_empty()) else {
        return Err(ConvertError::invalid(
            format!("messages[{i}].tool_call_id"),
            "Tool messages need a `tool_call_id`",
        ));
    };
    let content = plain_text_blocks(i, msg.content.as_ref())?;
    Ok(json!({"toolResult": {"toolUseId": id, "content": content}}))
}
