//! The members of Converse content blocks, checked the way Bedrock does once the union
//! itself is valid: `text`, `image`, `toolUse`, `toolResult`, `reasoningContent` and
//! `cachePoint`. Other members (`document`, `video`, `audio`, `guardContent`,
//! `citationsContent`, `searchResult`) only need to be the union's single member.
//!
//! Paths: `at` is the block as union messages name it (`messages.0.content.1`), `cat` the
//! member path of constraint messages (`messages.0.member.content.1.member`).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::converse::constraint;

/// Image formats Converse takes.
pub const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];

/// A valid 1×1 PNG, base64 (images must decode and match their `format`).
pub const TINY_PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// What a checked block means for the rest of the conversation.
#[derive(Debug, PartialEq)]
pub(crate) enum BlockKind<'a> {
    ToolUse(&'a str),
    ToolResult(&'a str),
    Other,
}

/// Check the member `name` of the block at `at`.
pub(crate) fn validate_member<'a>(
    name: &str,
    value: &'a Value,
    at: &str,
    cat: &str,
    kind: &str,
) -> Result<BlockKind<'a>, String> {
    match name {
        "text" => text_member(value, at, kind).map(|_| BlockKind::Other),
        "image" => image(value, at, &format!("{cat}.image")).map(|_| BlockKind::Other),
        "toolUse" => tool_use(value, &format!("{cat}.toolUse")).map(BlockKind::ToolUse),
        "toolResult" => tool_result(value, at, &format!("{cat}.toolResult")),
        "reasoningContent" => reasoning(value, at, &format!("{cat}.reasoningContent")),
        "cachePoint" => cache_point(value, &format!("{cat}.cachePoint")),
        _ => Ok(BlockKind::Other),
    }
}

/// A `text` member: a non-blank string.
fn text_member(text: &Value, at: &str, kind: &str) -> Result<(), String> {
    match text.as_str() {
        None => Err(constraint(
            text,
            &format!("{at}.text"),
            "Member must be a string",
        )),
        Some(t) if t.trim().is_empty() => Err(format!(
            "The text field in the {kind} object at {at} is blank. Add text to the text field, and try again."
        )),
        Some(_) => Ok(()),
    }
}

/// `value` as an object, or "Member must be a structure" at `cat`.
pub(crate) fn structure<'a>(value: &'a Value, cat: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| constraint(value, cat, "Member must be a structure"))
}

/// A required member of `obj`: present and not null.
pub(crate) fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    cat: &str,
) -> Result<&'a Value, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(constraint(
            &Value::Null,
            &format!("{cat}.{key}"),
            "Member must not be null",
        )),
        Some(v) => Ok(v),
    }
}

/// A required string member.
pub(crate) fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    cat: &str,
) -> Result<&'a str, String> {
    let v = required(obj, key, cat)?;
    v.as_str()
        .ok_or_else(|| constraint(v, &format!("{cat}.{key}"), "Member must be a string"))
}

/// An optional member that must be one of `allowed`.
pub(crate) fn optional_enum(
    obj: &Map<String, Value>,
    key: &str,
    cat: &str,
    allowed: &[&str],
) -> Result<(), String> {
    match obj.get(key) {
        None => Ok(()),
        Some(v) if v.as_str().is_some_and(|s| allowed.contains(&s)) => Ok(()),
        Some(v) => Err(constraint(
            v,
            &format!("{cat}.{key}"),
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        )),
    }
}

/// The single member of a union object, or Bedrock's message naming `members`.
pub(crate) fn union_member<'a>(
    value: &'a Value,
    kind: &str,
    at: &str,
    members: &[&str],
) -> Result<(&'a str, &'a Value), String> {
    let obj = structure(value, at)?;
    if let Some(unknown) = obj.keys().find(|k| !members.contains(&k.as_str())) {
        return Err(format!(
            "The {kind} object at {at} has an unknown field [{unknown}]. Use one of the following: {}.",
            members.join(", ")
        ));
    }
    match obj.iter().next() {
        Some((k, v)) if obj.len() == 1 => Ok((k.as_str(), v)),
        _ => Err(format!(
            "The {kind} object at {at} must set exactly one of the following keys: {}.",
            members.join(", ")
        )),
    }
}

/// Tool names and tool use ids: 1 to 64 of `[a-zA-Z0-9_-]`.
pub(crate) fn identifier(value: &str, at: &str) -> Result<(), String> {
    let shown = Value::String(value.to_string());
    if value.is_empty() || value.len() > 64 {
        return Err(constraint(
            &shown,
            at,
            "Member must have length between 1 and 64",
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(constraint(
            &shown,
            at,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+",
        ));
    }
    Ok(())
}

/// Base64 `bytes` that decode, or the message for the member at `at`.
pub(crate) fn base64_bytes(value: &Value, at: &str, what: &str) -> Result<Vec<u8>, String> {
    let decoded = value
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
    match decoded {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(format!(
            "The {what} at {at} is not valid base64. Encode the bytes with base64 and try again."
        )),
    }
}

/// Whether `bytes` start like an image of `format`.
fn looks_like(format: &str, bytes: &[u8]) -> bool {
    match format {
        "png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "jpeg" => bytes.starts_with(b"\xff\xd8\xff"),
        "gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => false,
    }
}

/// `{"format": "png|jpeg|gif|webp", "source": {"bytes": "<base64>"} | {"s3Location": {…}}}`;
/// inline bytes must decode and start like an image of that format.
fn image(value: &Value, at: &str, cat: &str) -> Result<(), String> {
    let obj = structure(value, cat)?;
    let format = required(obj, "format", cat)?;
    let Some(format) = format.as_str().filter(|f| IMAGE_FORMATS.contains(f)) else {
        return Err(constraint(
            format,
            &format!("{cat}.format"),
            &format!(
                "Member must satisfy enum value set: [{}]",
                IMAGE_FORMATS.join(", ")
            ),
        ));
    };
    let source = required(obj, "source", cat)?;
    let source_at = format!("{at}.image.source");
    let (member, inner) =
        union_member(source, "ImageSource", &source_at, &["bytes", "s3Location"])?;
    if member == "bytes" {
        let bytes = base64_bytes(inner, &format!("{source_at}.bytes"), "image bytes")?;
        if !looks_like(format, &bytes) {
            return Err(format!(
                "The image at {at} is not a valid {format} image. Check the image format and bytes, and try again."
            ));
        }
    }
    Ok(())
}

/// `{"toolUseId", "name", "input": {…}}`; returns the id.
fn tool_use<'a>(value: &'a Value, cat: &str) -> Result<&'a str, String> {
    let obj = structure(value, cat)?;
    let id = required_str(obj, "toolUseId", cat)?;
    identifier(id, &format!("{cat}.toolUseId"))?;
    let name = required_str(obj, "name", cat)?;
    identifier(name, &format!("{cat}.name"))?;
    let input = required(obj, "input", cat)?;
    if !input.is_object() {
        return Err(constraint(
            input,
            &format!("{cat}.input"),
            "Member must be a JSON object",
        ));
    }
    Ok(id)
}

/// Members of `ToolResultContentBlock`.
const TOOL_RESULT_MEMBERS: &[&str] = &["text", "json", "image", "document", "video"];

/// `{"toolUseId", "content": [{text}|{json}|…], "status"?: "success"|"error"}`.
fn tool_result<'a>(value: &'a Value, at: &str, cat: &str) -> Result<BlockKind<'a>, String> {
    let obj = structure(value, cat)?;
    let id = required_str(obj, "toolUseId", cat)?;
    identifier(id, &format!("{cat}.toolUseId"))?;
    let content = required(obj, "content", cat)?;
    let Some(blocks) = content.as_array() else {
        return Err(constraint(
            content,
            &format!("{cat}.content"),
            "Member must be a list",
        ));
    };
    for (k, block) in blocks.iter().enumerate() {
        let block_at = format!("{at}.toolResult.content.{k}");
        let block_cat = format!("{cat}.content.{k}.member");
        let (member, inner) = union_member(
            block,
            "ToolResultContentBlock",
            &block_at,
            TOOL_RESULT_MEMBERS,
        )?;
        match member {
            "text" if !inner.is_string() => {
                return Err(constraint(
                    inner,
                    &format!("{block_cat}.text"),
                    "Member must be a string",
                ))
            }
            "image" => image(inner, &block_at, &format!("{block_cat}.image"))?,
            _ => {}
        }
    }
    optional_enum(obj, "status", cat, &["success", "error"])?;
    Ok(BlockKind::ToolResult(id))
}

/// `{"reasoningText": {"text", "signature"?}}` or `{"redactedContent": "<base64>"}`.
fn reasoning<'a>(value: &'a Value, at: &str, cat: &str) -> Result<BlockKind<'a>, String> {
    let at = format!("{at}.reasoningContent");
    let members = ["reasoningText", "redactedContent"];
    let (member, inner) = union_member(value, "ReasoningContentBlock", &at, &members)?;
    if member == "redactedContent" {
        base64_bytes(inner, &format!("{at}.redactedContent"), "redacted content")?;
        return Ok(BlockKind::Other);
    }
    let cat = format!("{cat}.reasoningText");
    let obj = structure(inner, &cat)?;
    required_str(obj, "text", &cat)?;
    if let Some(sig) = obj.get("signature") {
        if !sig.is_string() {
            return Err(constraint(
                sig,
                &format!("{cat}.signature"),
                "Member must be a string",
            ));
        }
    }
    Ok(BlockKind::Other)
}

/// `{"type": "default"}`.
pub(crate) fn cache_point<'a>(value: &Value, cat: &str) -> Result<BlockKind<'a>, String> {
    let obj = structure(value, cat)?;
    required(obj, "type", cat)?;
    optional_enum(obj, "type", cat, &["default"])?;
    Ok(BlockKind::Other)
}
